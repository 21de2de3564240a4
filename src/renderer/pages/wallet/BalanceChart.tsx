// The balance over time (after each transaction, replaced ones left out), drawn with uPlot.
import { useEffect, useId, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { api } from '../../api/client'
import { useEvent, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'
import { sats } from '../ecash/sats'

export default function BalanceChart({ accountId }: { accountId: string }) {
  const points = useQuery(() => api.wallet.balanceHistory({ accountId }), [accountId])
  useEvent('wallet', (e) => {
    if (e.type === 'transaction' || e.type === 'reorg') points.refresh()
  })
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const titleId = useId()

  useEffect(() => {
    const box = el.current
    if (!box) return
    const css = getComputedStyle(box)
    const color = css.getPropertyValue('--accent').trim() || '#2f6fdf'
    const axisColor = css.getPropertyValue('--fg-muted').trim() || '#666'
    plot.current = new uPlot(
      {
        width: Math.max(280, box.clientWidth || 600),
        height: 200,
        legend: { show: false },
        scales: { x: { time: true } },
        axes: [
          { stroke: axisColor },
          { stroke: axisColor, values: (_u, vals) => vals.map((v) => sats(v)), size: 110 },
        ],
        series: [
          {},
          { label: 'Balance', stroke: color, width: 2, paths: uPlot.paths.stepped!({ align: 1 }) },
        ],
      },
      [[], []],
      box,
    )
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [])

  useEffect(() => {
    const data = points.data ?? []
    plot.current?.setData([data.map((p) => p.t), data.map((p) => p.balanceSat)])
  }, [points.data])

  if (points.error) return <ErrorBox error={points.error} />
  const last = points.data?.at(-1)
  return (
    <figure className="chart" aria-labelledby={titleId}>
      <figcaption id={titleId}>Balance over time</figcaption>
      {!points.data && <Spinner label="Loading the balance history…" />}
      {points.data?.length === 0 && <p className="muted">No transactions yet.</p>}
      <div
        ref={el}
        role="img"
        aria-label={`Balance over time; now ${sats(last?.balanceSat ?? 0)}`}
      />
    </figure>
  )
}
