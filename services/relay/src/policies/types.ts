// The hook shapes of the relay core (khatru-style): each policy is a plain function that
// returns a reason — with its NIP-01 machine-readable prefix — to refuse, or undefined to pass.
import type { Filter, NostrEvent } from '../nip01'

/** What a policy may know about the connection a message came from. */
export interface ConnectionView {
  readonly id: number
  readonly ip: string
  /** Pubkeys this connection proved with NIP-42 AUTH. */
  readonly authed: ReadonlySet<string>
}

/** Operator lists the policies consult (persisted by the store, edited over NIP-86/the engine API). */
export interface Lists {
  has(list: ListName, value: string): boolean
  values(list: ListName): string[]
}

export type ListName =
  | 'allowed-pubkey'
  | 'banned-pubkey'
  | 'banned-event'
  | 'allowed-event'
  | 'blocked-ip'
  | 'allowed-kind'
  | 'disallowed-kind'

/** `open`: connections already open from this address. */
export type ConnectPolicy = (ip: string, open: number) => string | undefined
export type EventPolicy = (
  ev: NostrEvent,
  conn: ConnectionView,
  rawBytes: number,
) => string | undefined
export type QueryPolicy = (filters: readonly Filter[], conn: ConnectionView) => string | undefined

export interface Policies {
  readonly connect: readonly ConnectPolicy[]
  readonly event: readonly EventPolicy[]
  readonly query: readonly QueryPolicy[]
}

export const firstReason = <A extends unknown[]>(
  fns: readonly ((...a: A) => string | undefined)[],
  ...args: A
): string | undefined => {
  for (const f of fns) {
    const r = f(...args)
    if (r) return r
  }
  return undefined
}
