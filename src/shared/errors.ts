// Errors are values with a code, a message for the user and a hint for what to do
// (shared/STYLE.md). This shape crosses every boundary: engine → IPC/HTTP → renderer.
export interface UserError {
  /** Stable machine-readable code, e.g. `docker.not_running`, `stack.port_taken`. */
  readonly code: string
  /** What happened, in the user's words. Never contains a secret. */
  readonly message: string
  /** What to do about it. */
  readonly hint: string
}

export function isUserError(value: unknown): value is UserError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as UserError).code === 'string' &&
    typeof (value as UserError).message === 'string' &&
    typeof (value as UserError).hint === 'string'
  )
}
