// One chart component for every "number over time" picture in the app (uPlot).
// Callers give the points and how to print a value; the chart follows the theme's colours,
// resizes with the window and describes its latest value for screen readers.
import { useEffect, useId, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export type ChartShape = 'line' | 'steps' | 'bars'

export interface TimeChartProps {
  title: string
  /** Unix seconds, ascending. */
  times: readonly number[]
  values: readonly number[]
  format: (value: number) => string
  shape?: ChartShape
  height?: number
  /** Width reserved for the value axis labels, in pixels. */
  axisSize?: number
}

function pathsFor(shape: ChartShape): uPlot.Series.PathBuilder | undefined {
  if (shape === 'steps') return uPlot.paths.stepped!({ align: 1 })
  if (shape === 'bars') return uPlot.paths.bars!({ size: [0.6, 60] })
  return undefined
}

export default function TimeChart({
  title,
  times,
  values,
  format,
  shape = 'line',
  height = 180,
  axisSize = 80,
}: TimeChartProps) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const titleId = useId()

  useEffect(() => {
    const box = el.current
    if (!box) return
    const css = getComputedStyle(box)
    const color = css.getPropertyValue('--accent').trim() || '#2f6fdf'
    const axisColor = css.getPropertyValue('--fg-muted').trim() || '#666'
    const paths = pathsFor(shape)
    plot.current = new uPlot(
      {
        width: Math.max(280, box.clientWidth || 600),
        height,
        legend: { show: false },
        scales: { x: { time: true } },
        axes: [
          { stroke: axisColor },
          { stroke: axisColor, values: (_u, vals) => vals.map((v) => format(v)), size: axisSize },
        ],
        series: [
          {},
          {
            label: title,
            stroke: color,
            width: 2,
            ...(shape === 'bars' ? { fill: color } : {}),
            ...(paths ? { paths } : {}),
          },
        ],
      },
      [[], []],
      box,
    )
    const onResize = () => plot.current?.setSize({ width: Math.max(280, box.clientWidth), height })
    window.addEventListener('resize', onResize)
    return () => {
      window.removeEventListener('resize', onResize)
      plot.current?.destroy()
      plot.current = null
    }
  }, [title, format, shape, height, axisSize])

  useEffect(() => {
    plot.current?.setData([[...times], [...values]])
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
