// CPU and memory over time, from the recent samples plus live `stats` events.
import { useMemo } from 'react'
import { api } from '../../api/client'
import { useEvent, useQuery } from '../../api/hooks'
import { formatBytes } from '../../format'
import { ErrorBox, Spinner } from '../../shell/common'
import TimeChart from '../../charts/TimeChart'
import { appendCapped } from './append'

const MAX_SAMPLES = 720
const percent = (v: number) => `${v.toFixed(0)} %`

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
      <TimeChart title="CPU (%)" times={times} values={cpu} format={percent} axisSize={70} />
      <TimeChart title="Memory" times={times} values={mem} format={formatBytes} axisSize={70} />
    </div>
  )
}
