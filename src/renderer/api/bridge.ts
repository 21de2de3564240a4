// The shape of `window.flashbox`, exposed by src/preload with contextBridge. Deliberately tiny:
// one generic call and one event stream; the contract decides what can be called.
import type { EngineEvent } from '../../shared/api/events'
import type { UserError } from '../../shared/errors'

export type BridgeResult = { ok: true; value: unknown } | { ok: false; error: UserError }

export interface FlashboxBridge {
  invoke(domain: string, procedure: string, input: unknown): Promise<BridgeResult>
  /** Every engine event for this window; returns the unsubscribe function. */
  onEvent(fn: (event: EngineEvent) => void): () => void
}

declare global {
  interface Window {
    flashbox?: FlashboxBridge
  }
}
