// The state of one of the box's own services (relay, mint) running as its own process.
export interface ServiceProcessView {
  readonly running: boolean
  readonly pid?: number
  /** How often the engine restarted it after it died on its own. */
  readonly restarts: number
  readonly lastExit?: {
    readonly code: number | null
    readonly signal: string | null
    readonly at: string
  }
}
