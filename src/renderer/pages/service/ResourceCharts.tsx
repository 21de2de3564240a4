// CPU and memory over time, from the recent samples plus live `stats` events.
import { useEffect, useId, useMemo, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { api } from '../../api/client'
import { useEvent, useQuery } from '../../api/hooks'
import { formatBytes } from '../../format'
import { ErrorBox, Spinner } from '../../shell/common'
import { appendCapped } from './append'

const MAX_SAMPLES = 720

export default function ResourceCharts({ id }: { id: string }) {
  const stats = useQuery(() => api.stack.stats({ id }), [id])
  useEvent('stack', (e) => {
    if (e.type !== 'stats' || e.sample.serviceId !== id) return
    stats.setData((prev) => appendCapped(prev ?? [], e.sample, MAX_SAMPLES))
  })
  const samples = useMemo(() => stats.data ?? [], [stats.data])
  const times = useMemo(() => samples.map((s) => Date.parse(s.time) / 1000), [samples])
  const cpu = useMemo(() => samples.map((s) => s.cpuPercent), [samples])
  const mem = useMemo(() => samples.map((s) => s.memoryBytes), [samples])

  if (stats.error) return <ErrorBox error={stats.error} />
  if (!stats.data) return <Spinner label="Loading resource use…" />
  const last = samples[samples.length - 1]
  if (!last)
    return <p className="muted">No measurements yet: they appear while the service runs.</p>
  return (
    <div className="charts">
      <p role="status">
        Now: CPU {last.cpuPercent.toFixed(1)} %, memory {formatBytes(last.memoryBytes)}
        {last.memoryLimitBytes > 0 ? ` of ${formatBytes(last.memoryLimitBytes)}` : ''}, disk{' '}
        {formatBytes(last.diskBytes)}
      </p>
      <Chart title="CPU (%)" times={times} values={cpu} format={(v) => `${v.toFixed(0)} %`} />
      <Chart title="Memory" times={times} values={mem} format={formatBytes} />
    </div>
  )
}

function Chart({
  title,
  times,
  values,
  format,
}: {
  title: string
  times: number[]
  values: number[]
  format: (v: number) => string
}) {
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
        height: 180,
        legend: { show: false },
        scales: { x: { time: true } },
        axes: [
          { stroke: axisColor },
          { stroke: axisColor, values: (_u, vals) => vals.map((v) => format(v)), size: 70 },
        ],
        series: [{}, { label: title, stroke: color, width: 2 }],
      },
      [[], []],
      box,
    )
    const onResize = () =>
      plot.current?.setSize({ width: Math.max(280, box.clientWidth), height: 180 })
    window.addEventListener('resize', onResize)
    return () => {
      window.removeEventListener('resize', onResize)
      plot.current?.destroy()
      plot.current = null
    }
  }, [title, format])

  useEffect(() => {
    plot.current?.setData([times, values])
  }, [times, values])

  return (
    <figure className="chart" aria-labelledby={titleId}>
      <figcaption id={titleId}>{title}</figcaption>
      <div
        ref={el}
        role="img"
        aria-label={`${title} over time; latest ${format(values[values.length - 1] ?? 0)}`}
      />
    </figure>
  )
}
