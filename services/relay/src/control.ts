// What the engine may ask of a running relay, as plain data in and out — so the same calls work
// when the relay runs in its own process (child.ts) and the engine holds only a channel to it.
import type { RunningRelay } from './index'
import type { RelayPolicy, RelayPolicyInput } from './policy-schema'
import type { Rejection, RelayStats } from './relay'
import { SUPPORTED_NIPS } from './nip11'

export type RelayListName =
  | 'allowed-pubkey'
  | 'banned-pubkey'
  | 'banned-event'
  | 'blocked-ip'
  | 'allowed-kind'
  | 'disallowed-kind'

export interface RelayListEntryData {
  readonly value: string
  readonly reason: string
  /** ms since the epoch */
  readonly addedAt: number
}

export interface RelayInfo extends RelayStats {
  readonly url: string
  readonly relayPubkey: string
  readonly verifier: 'wasm' | 'js'
  readonly policies: RelayPolicy
  readonly supportedNips: readonly number[]
}

export interface RelayControl {
  info(): RelayInfo
  setPolicy(input: RelayPolicyInput): RelayPolicy
  /** The admins are these plus the relay's own key. */
  setAdmins(pubkeys: readonly string[]): void
  lists(): Record<RelayListName, RelayListEntryData[]>
  editList(list: RelayListName, action: 'add' | 'remove', value: string, reason?: string): void
  rejections(limit: number): Rejection[]
  /** A consistent copy of the database at `path` (which must not exist yet). */
  backup(path: string): { events: number }
}

export const relayListNames: readonly RelayListName[] = [
  'allowed-pubkey',
  'banned-pubkey',
  'banned-event',
  'blocked-ip',
  'allowed-kind',
  'disallowed-kind',
]

export function relayControl(running: RunningRelay): RelayControl {
  const r = running.relay
  return {
    info: () => ({
      ...r.stats(),
      url: running.url,
      relayPubkey: r.key.pubkey,
      verifier: r.verifierEngine,
      policies: r.currentPolicy,
      supportedNips: SUPPORTED_NIPS,
    }),
    setPolicy: (input) => r.setPolicy(input),
    setAdmins: (pubkeys) => {
      r.admins.clear()
      for (const pk of [...pubkeys, r.key.pubkey]) r.admins.add(pk)
    },
    lists: () =>
      Object.fromEntries(relayListNames.map((n) => [n, r.store.listAll(n)])) as Record<
        RelayListName,
        RelayListEntryData[]
      >,
    editList: (list, action, value, reason) => {
      const m = r.managementOps!
      const add = action === 'add'
      switch (list) {
        case 'allowed-pubkey':
          return add ? m.allowPubkey(value, reason) : m.unallowPubkey(value)
        case 'banned-pubkey':
          return add ? m.banPubkey(value, reason) : m.unbanPubkey(value)
        case 'banned-event':
          return add ? m.banEvent(value, reason) : m.unbanEvent(value)
        case 'blocked-ip':
          return add ? m.blockIp(value, reason) : m.unblockIp(value)
        case 'allowed-kind':
          if (add) m.allowKind(Number(value))
          else r.store.listRemove('allowed-kind', value)
          return
        case 'disallowed-kind':
          if (add) m.disallowKind(Number(value))
          else r.store.listRemove('disallowed-kind', value)
          return
      }
    },
    rejections: (limit) => r.rejections().slice(0, limit),
    backup: (path) => {
      r.store.backupTo(path)
      return { events: r.store.eventCount() }
    },
  }
}
