// The balance over time (after each transaction, replaced ones left out).
import { useMemo } from 'react'
import { api } from '../../api/client'
import { useEvent, useQuery } from '../../api/hooks'
import TimeChart from '../../charts/TimeChart'
import { ErrorBox, Spinner } from '../../shell/common'
import { sats } from '../ecash/sats'

export default function BalanceChart({ accountId }: { accountId: string }) {
  const points = useQuery(() => api.wallet.balanceHistory({ accountId }), [accountId])
  useEvent('wallet', (e) => {
    if (e.type === 'transaction' || e.type === 'reorg') points.refresh()
  })
  const times = useMemo(() => (points.data ?? []).map((p) => p.t), [points.data])
  const values = useMemo(() => (points.data ?? []).map((p) => p.balanceSat), [points.data])

  if (points.error) return <ErrorBox error={points.error} />
  if (!points.data) return <Spinner label="Loading the balance history…" />
  if (points.data.length === 0) return <p className="muted">No transactions yet.</p>
  return (
    <TimeChart
      title="Balance"
      times={times}
      values={values}
      format={sats}
      shape="steps"
      height={200}
      axisSize={110}
    />
  )
}
