// The renderer reaches the engine through one of two transports with the same shape:
// Electron IPC (the preload's `window.flashbox` bridge) or headless HTTP + WebSocket.
import type { EngineEvent, EventTopic } from '../../shared/api/events'
import type { UserError } from '../../shared/errors'
import { isUserError } from '../../shared/errors'

export type EventListener = (event: EngineEvent) => void

/**
 * The event socket: 'open'; 'idle' when nothing on screen listens (no socket, nothing wrong);
 * 'connecting' while getting it back after it was lost; 'closed' when lost and retrying.
 */
export type ConnectionState = 'connecting' | 'open' | 'idle' | 'closed'

export interface Transport {
  readonly kind: 'ipc' | 'http' | 'test-fake'
  call(domain: string, procedure: string, input: unknown): Promise<unknown>
  /** Listen to engine events of these topics (all when null). Returns the unsubscribe function. */
  subscribe(topics: readonly EventTopic[] | null, fn: EventListener): () => void
  /** Stream one service's `log` events to this window while the returned function is not called. */
  followLogs(serviceId: string): () => void
}

/** An error the engine answered with: what happened (`message`) and what to do (`hint`). */
export class ApiError extends Error implements UserError {
  readonly code: string
  readonly hint: string
  readonly status?: number

  constructor(e: UserError, status?: number) {
    super(e.message)
    this.name = 'ApiError'
    this.code = e.code
    this.hint = e.hint
    if (status !== undefined) this.status = status
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  if (isUserError(err)) return new ApiError(err)
  return new ApiError({
    code: 'transport.failed',
    message: 'Flash Box could not reach its engine.',
    hint: 'Check that Flash Box is still running, then try again.',
  })
}
