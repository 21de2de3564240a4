// TEST-ONLY fault injection for the crash tests (tests/integration/mint-crash.test.ts): when
// MINT_CRASH_AT names a step of the melt saga, the mint process kills itself with SIGKILL right
// there, exactly like a power cut. Has no effect unless that variable is set, and never in a
// production build (the container sets NODE_ENV=production).
export type CrashStep = 'after_reserve' | 'before_payment' | 'during_payment' | 'after_payment'

export function crashPoint(step: CrashStep): void {
  if (process.env.NODE_ENV === 'production') return
  if (process.env.MINT_CRASH_AT === step) process.kill(process.pid, 'SIGKILL')
}
