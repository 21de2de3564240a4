// TEST-ONLY fault injection for the crash tests (tests/integration/mint-crash.test.ts): when
// MINT_CRASH_AT names a step of the melt saga, the mint process kills itself with SIGKILL right
// there, exactly like a power cut.
//
// Compiled out of production: the hook is live only when FLASHBOX_FAULT_INJECTION is true. Bundles
// define it as false (docker/mint/build.sh: esbuild --define with --minify-syntax), which removes
// the body and every call site, so the image does not contain it; source runs leave it undefined,
// which is off too. Only the crash tests' preload (tests/integration/fault-injection-preload.mjs)
// sets it, as a global, in the mint process they spawn.
declare const FLASHBOX_FAULT_INJECTION: boolean | undefined

export type CrashStep = 'after_reserve' | 'before_payment' | 'during_payment' | 'after_payment'

export function crashPoint(step: CrashStep): void {
  if (typeof FLASHBOX_FAULT_INJECTION === 'undefined' || FLASHBOX_FAULT_INJECTION !== true) return
  if (process.env.MINT_CRASH_AT === step) process.kill(process.pid, 'SIGKILL')
}
