// Sane limits on events and filters (sizes, tag counts, timestamps). Message size is enforced
// before parsing by the WebSocket's maxPayload and the core's length check.
import type { RelayPolicy } from '../config'
import { reason } from '../nip01'
import type { EventPolicy, QueryPolicy } from './types'

export function eventLimits(l: RelayPolicy['limits'], now: () => number): EventPolicy {
  return (ev, _conn, rawBytes) => {
    if (rawBytes > l.maxEventBytes)
      return reason('invalid', `event is larger than ${l.maxEventBytes} bytes`)
    if (Buffer.byteLength(ev.content) > l.maxContentBytes)
      return reason('invalid', `content is larger than ${l.maxContentBytes} bytes`)
    if (ev.tags.length > l.maxTags) return reason('invalid', `more than ${l.maxTags} tags`)
    const t = now()
    if (ev.created_at > t + l.maxFutureSeconds)
      return reason('invalid', 'created_at is too far in the future')
    if (l.maxPastSeconds > 0 && ev.created_at < t - l.maxPastSeconds)
      return reason('invalid', 'created_at is too far in the past')
    return undefined
  }
}

export function filterLimits(l: RelayPolicy['limits']): QueryPolicy {
  return (filters) => {
    if (filters.length > l.maxFilters) return reason('invalid', `more than ${l.maxFilters} filters`)
    for (const f of filters) {
      let n = (f.ids?.length ?? 0) + (f.authors?.length ?? 0) + (f.kinds?.length ?? 0)
      for (const v of Object.values(f.tags ?? {})) n += v.length
      if (n > l.maxFilterValues)
        return reason('invalid', `a filter has more than ${l.maxFilterValues} values`)
    }
    return undefined
  }
}
