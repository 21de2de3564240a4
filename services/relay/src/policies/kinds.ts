// Which kinds this relay accepts: the operator's allow/block lists plus NIP-86 allowkind/disallowkind.
import type { RelayPolicy } from '../config'
import { reason } from '../nip01'
import type { EventPolicy, Lists } from './types'

export function allowedKinds(cfg: RelayPolicy['kinds'], lists: Lists): EventPolicy {
  const blocked = new Set(cfg.blocked)
  return (ev) => {
    const k = String(ev.kind)
    if (blocked.has(ev.kind) || lists.has('disallowed-kind', k))
      return reason('blocked', `kind ${ev.kind} is not accepted here`)
    const managed = lists.values('allowed-kind')
    if (cfg.allowed.length > 0 || managed.length > 0) {
      if (!cfg.allowed.includes(ev.kind) && !managed.includes(k))
        return reason('blocked', `kind ${ev.kind} is not accepted here`)
    }
    return undefined
  }
}
