// What quitting does to the stack. The containers can keep running without the window (they
// are Docker's); the user decides once ("always"/"never") or is asked each time.
export type StopOnQuit = 'ask' | 'always' | 'never'

export type QuitDecision = 'quit' | 'stop-then-quit' | 'ask'

export function decideQuit(opts: {
  readonly preference: StopOnQuit
  /** The stack is (meant to be) running. */
  readonly stackRunning: boolean
  /** The answer to the dialog, when we asked. */
  readonly answer?: 'stop' | 'keep' | 'cancel'
}): QuitDecision | 'cancel' {
  if (!opts.stackRunning) return 'quit'
  if (opts.answer === 'cancel') return 'cancel'
  if (opts.answer === 'stop') return 'stop-then-quit'
  if (opts.answer === 'keep') return 'quit'
  if (opts.preference === 'always') return 'stop-then-quit'
  if (opts.preference === 'never') return 'quit'
  return 'ask'
}

/** The dialog's buttons, in order; index → answer. */
export const quitDialog = {
  message: 'Stop the Bitcoin services too?',
  detail:
    'They can keep running in the background, so payments keep working while Flash Box is closed. Stopping them shuts each one down cleanly.',
  buttons: ['Stop them and quit', 'Keep them running and quit', 'Cancel'] as const,
  answers: ['stop', 'keep', 'cancel'] as const,
  checkbox: 'Remember my choice',
}
