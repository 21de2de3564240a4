// What crosses the Electron boundary. The renderer keeps a structural copy of this in
// src/renderer/api/bridge.ts (it may not import from here).
import type { UserError } from '../shared/errors'

export const CALL_CHANNEL = 'flashbox:call'
export const EVENT_CHANNEL = 'flashbox:event'

export type BridgeResult = { ok: true; value: unknown } | { ok: false; error: UserError }
