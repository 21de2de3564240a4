// Who may write and read: open, members-only (allow-list), AUTH required; bans by pubkey, event, IP.
import type { RelayPolicy } from '../config'
import { firstTag, reason } from '../nip01'
import type { ConnectPolicy, ConnectionView, EventPolicy, Lists, QueryPolicy } from './types'

export function connectionsPerIp(max: number): ConnectPolicy {
  return (_ip, open) =>
    open >= max
      ? reason('rate-limited', `more than ${max} connections from your address`)
      : undefined
}

export function blockedIps(lists: Lists): ConnectPolicy {
  return (ip) =>
    lists.has('blocked-ip', ip) ? reason('blocked', 'your address is blocked') : undefined
}

export function bans(lists: Lists): EventPolicy {
  return (ev, conn) => {
    if (lists.has('blocked-ip', conn.ip)) return reason('blocked', 'your address is blocked')
    if (lists.has('banned-pubkey', ev.pubkey)) return reason('blocked', 'this key is banned here')
    if (lists.has('banned-event', ev.id)) return reason('blocked', 'this event is banned here')
    return undefined
  }
}

const isMember = (lists: Lists, admins: ReadonlySet<string>, pk: string) =>
  admins.has(pk) || lists.has('allowed-pubkey', pk)

/** Members-only writes. A gift wrap (signed by a throwaway key) passes when it is addressed to a member. */
export function membersOnlyWrites(lists: Lists, admins: ReadonlySet<string>): EventPolicy {
  return (ev) => {
    if (isMember(lists, admins, ev.pubkey)) return undefined
    if (ev.kind === 1059) {
      const p = firstTag(ev, 'p')
      if (p && isMember(lists, admins, p)) return undefined
    }
    return reason('restricted', 'only members of this relay may publish here')
  }
}

export function authForWrites(): EventPolicy {
  return (ev, conn) => {
    if (conn.authed.size === 0) return reason('auth-required', 'sign in (NIP-42) to publish here')
    if (ev.kind !== 1059 && !conn.authed.has(ev.pubkey))
      return reason(
        'restricted',
        'you may only publish events signed by the key you signed in with',
      )
    return undefined
  }
}

export function restrictedReads(
  mode: RelayPolicy['reads'],
  lists: Lists,
  admins: ReadonlySet<string>,
): QueryPolicy | undefined {
  if (mode === 'open') return undefined
  return (_filters, conn: ConnectionView) => {
    if (conn.authed.size === 0)
      return reason('auth-required', 'sign in (NIP-42) to read from this relay')
    if (mode === 'allow-list' && ![...conn.authed].some((pk) => isMember(lists, admins, pk)))
      return reason('restricted', 'only members of this relay may read here')
    return undefined
  }
}
