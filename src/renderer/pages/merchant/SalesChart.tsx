// Sales as bars (the app's one uPlot chart component): today by hour, the week by day.
import { useMemo } from 'react'
import type { MerchantSales } from '../../../shared/api/merchant'
import TimeChart from '../../charts/TimeChart'
import { money } from './money'

export default function SalesChart({
  title,
  data,
  which,
  currency,
}: {
  title: string
  data: MerchantSales
  which: 'today' | 'week'
  currency: string
}) {
  const times = useMemo(() => data[which].map((b) => Date.parse(b.start) / 1000), [data, which])
  const values = useMemo(() => data[which].map((b) => b.total), [data, which])
  return (
    <TimeChart
      title={title}
      times={times}
      values={values}
      format={(v) => money(v, currency)}
      shape="bars"
      height={160}
      axisSize={90}
    />
  )
}
