// The crash hook is inert unless the test-only define is set, even with MINT_CRASH_AT in the
// environment and NODE_ENV not "production" (a development or `npm start` run).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

const hook = pathToFileURL(join(import.meta.dirname, 'fault-injection.ts')).href
const preload = pathToFileURL(
  join(import.meta.dirname, '../../../tests/integration/fault-injection-preload.mjs'),
).href

function runHook(extraImports: string[]) {
  const code = `const { crashPoint } = await import(${JSON.stringify(hook)}); crashPoint('after_reserve'); console.log('alive')`
  return spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      ...extraImports.flatMap((i) => ['--import', i]),
      '--input-type=module',
      '-e',
      code,
    ],
    {
      env: { ...process.env, MINT_CRASH_AT: 'after_reserve', NODE_ENV: 'development' },
      encoding: 'utf8',
      timeout: 30_000,
    },
  )
}

describe('mint fault injection', () => {
  it('does nothing without the build-time define, whatever the environment says', () => {
    const r = runHook([])
    expect(r.signal).toBeNull()
    expect(r.stdout).toContain('alive')
  })

  it('kills the process at the named step only when the crash tests turn it on', () => {
    const r = runHook([preload])
    expect(r.signal).toBe('SIGKILL')
    expect(r.stdout).not.toContain('alive')
  })
})
