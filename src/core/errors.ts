import type { UserError } from '../shared/errors'

/**
 * The engine's error type: everything thrown across the API boundary is a FlashError (or is
 * wrapped into one), so the user always sees what happened and what to do.
 * `cause` stays inside the engine (logs) and is never serialised to the renderer.
 */
export class FlashError extends Error implements UserError {
  readonly code: string
  readonly hint: string

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FlashError'
    this.code = code
    this.hint = hint
  }

  toJSON(): UserError {
    return { code: this.code, message: this.message, hint: this.hint }
  }
}

export function toUserError(err: unknown): UserError {
  if (err instanceof FlashError) return err.toJSON()
  return {
    code: 'internal',
    message: 'Something went wrong inside Flash Box.',
    hint: 'Try again. If it keeps happening, save a support bundle in Settings → Diagnostics and share it with support.',
  }
}
