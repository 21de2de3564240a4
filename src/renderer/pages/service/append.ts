/** Append one item, keeping at most `max` (the oldest drop off). */
export function appendCapped<T>(prev: readonly T[], item: T, max: number): readonly T[] {
  const next = [...prev, item]
  return next.length > max ? next.slice(next.length - max) : next
}
