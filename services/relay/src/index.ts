// The relay's public surface: start it embedded (the engine, tests) or as the container's entry.
import { fileURLToPath } from 'node:url'
import { Relay, type RelayOptions } from './relay'
import { Nip29Groups } from './nip29'
import { installManagementApi } from './nip86'

export interface RunningRelay {
  /** ws://host:port */
  readonly url: string
  readonly relay: Relay
  close(): Promise<void>
}

/** Starts a relay listening on `host:port` (port 0 = any free port) with its database at `dbPath`. */
export async function startRelay(opts: RelayOptions): Promise<RunningRelay> {
  const relay = await Relay.create(opts)
  try {
    relay.use(new Nip29Groups(relay))
    installManagementApi(relay)
    const url = await relay.listen(opts.port, opts.host ?? '127.0.0.1')
    return { url, relay, close: () => relay.close() }
  } catch (err) {
    await relay.close().catch(() => {})
    throw err
  }
}

export { Relay } from './relay'
export type { RelayOptions, Rejection, RelayStats, RelayLog } from './relay'
export { RelayPolicySchema, parsePolicy } from './config'
export type { RelayPolicy, RelayPolicyInput } from './config'
export type { NostrEvent, Filter } from './nip01'
export { relayControl, relayListNames } from './control'
export type { RelayControl, RelayInfo, RelayListName, RelayListEntryData } from './control'
export { SUPPORTED_NIPS } from './nip11'

/** The relay's child-process entry (child.ts), for the engine to start it as its own process. */
export const relayChildEntry = fileURLToPath(new URL('./child.ts', import.meta.url))
