// The ecash module inside the engine: validated dispatch, clear errors without a mint, and the
// seed kept private (0600 file, never in a log line, shown only with an explicit confirm).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../engine/engine'
import { createLogger } from '../log'
import { ecashModule } from './ecash-module'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function engine(): Promise<{ e: Engine; dir: string; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ecash-mod-'))
  const lines: string[] = []
  const log = createLogger('test', {
    level: 'debug',
    sink: (l) => lines.push(JSON.stringify(l)),
  })
  const e = await createEngine({
    dataDir: dir,
    log,
    modules: [ecashModule({ backgroundIntervalMs: 0 })],
  })
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  cleanups.push(() => e.stop())
  return { e, dir, lines }
}

const ctx = { transport: 'internal' } as const
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (err: { code?: string }) => err.code,
  )

describe('ecash engine module', () => {
  it('answers status and rejects bad input at the edge', async () => {
    const { e } = await engine()
    const s = (await e.call('ecash', 'status', {}, ctx)) as { total: number; receivePubkey: string }
    expect(s.total).toBe(0)
    expect(s.receivePubkey).toMatch(/^0[23][0-9a-f]{64}$/)
    expect(await codeOf(e.call('ecash', 'receive', { token: 'hello' }, ctx))).toBe('api.bad_input')
    expect(await codeOf(e.call('ecash', 'meltQuote', { invoice: 'bitcoin:xyz' }, ctx))).toBe(
      'api.bad_input',
    )
    expect(await codeOf(e.call('ecash', 'send', { amount: -5 }, ctx))).toBe('api.bad_input')
    expect(await codeOf(e.call('ecash', 'backupSeed', { confirm: false }, ctx))).toBe(
      'api.bad_input',
    )
  })

  it('explains what to do when there is no mint yet', async () => {
    const { e } = await engine()
    expect(await codeOf(e.call('ecash', 'send', { amount: 5 }, ctx))).toBe('ecash.no_mint')
    expect(await codeOf(e.call('ecash', 'mintQuote', { amount: 5 }, ctx))).toBe('ecash.no_mint')
    expect(await codeOf(e.call('ecash', 'addMint', { url: 'http://127.0.0.1:9' }, ctx))).toBe(
      'ecash.mint_unreachable',
    )
  })

  it('keeps the seed in a 0600 file, out of every log line, shown only on confirm', async () => {
    const { e, dir, lines } = await engine()
    const seedPath = join(dir, 'ecash', 'seed.json')
    expect(statSync(seedPath).mode & 0o777).toBe(0o600)
    const { words } = (await e.call('ecash', 'backupSeed', { confirm: true }, ctx)) as {
      words: string[]
    }
    expect(words).toHaveLength(12)
    expect(JSON.parse(readFileSync(seedPath, 'utf8')).mnemonic).toBe(words.join(' '))
    const status = (await e.call('ecash', 'status', {}, ctx)) as { seedBackedUp: boolean }
    expect(status.seedBackedUp).toBe(true)
    // Whatever was logged, the words never appear in sequence.
    createLogger('probe', { sink: (l) => lines.push(JSON.stringify(l)) }).info(
      `echo ${words.join(' ')}`,
    )
    expect(lines.join('\n')).not.toContain(words.join(' '))
    expect(lines.at(-1)).toContain('‹redacted›')
    // Restoring other words over a wallet is refused only when it holds something; an
    // invalid phrase is refused with a clear error.
    expect(
      await codeOf(
        e.call('ecash', 'restore', { mnemonic: Array(12).fill('abandon').join(' ') }, ctx),
      ),
    ).toBe('ecash.bad_mnemonic')
  })
})

describe('the box mint on the eCash page', () => {
  it('reads whether the box mint runs from the mint module, as the dashboard and Mint page do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecash-own-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    let publishMint: ((running: boolean) => void) | undefined
    const e = await createEngine({
      dataDir: dir,
      log: createLogger('test', { sink: () => {} }),
      modules: [
        (c) => {
          publishMint = (running) =>
            c.events.publish({
              topic: 'mint',
              type: 'status',
              status: {
                running,
                ...(running
                  ? {}
                  : {
                      problem: { code: 'mint.crashed', message: 'It crashed.', hint: 'Start it.' },
                    }),
              } as never,
            })
          return { name: 'mint', handlers: {}, start: async () => {}, stop: async () => {} }
        },
        ecashModule({ backgroundIntervalMs: 0, ownMintUrl: () => 'http://127.0.0.1:9' }),
      ],
    })
    cleanups.push(() => e.stop())
    const own = async () =>
      (
        (await e.call('ecash', 'mints', {}, ctx)) as {
          own: boolean
          online: boolean
          lastError?: string
        }[]
      ).find((m) => m.own)
    publishMint!(false)
    const stopped = await own()
    expect(stopped).toMatchObject({
      online: false,
      lastError: 'The box’s mint is stopped: It crashed.',
    })
  })

  it('the box’s own mint is as the mint module says now, even when it reported before eCash listened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecash-mod-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    let running = false
    const state = () =>
      ({
        running,
        ...(running
          ? {}
          : { problem: { code: 'mint.crashed', message: 'It crashed.', hint: 'Start it.' } }),
      }) as never
    const e = await createEngine({
      dataDir: dir,
      log: createLogger('test', { sink: () => {} }),
      modules: [
        // The mint module starts first and reports at once, before the eCash module exists.
        (c) => ({
          name: 'mint',
          handlers: { status: async () => state() },
          start: async () => c.events.publish({ topic: 'mint', type: 'status', status: state() }),
          stop: async () => {},
        }),
        ecashModule({ backgroundIntervalMs: 0, ownMintUrl: () => 'http://127.0.0.1:9' }),
      ],
    })
    cleanups.push(() => e.stop())
    const own = async () =>
      (
        (await e.call('ecash', 'mints', {}, ctx)) as {
          own: boolean
          online: boolean
          lastError?: string
        }[]
      ).find((m) => m.own)
    expect(await own()).toMatchObject({
      online: false,
      lastError: 'The box’s mint is stopped: It crashed.',
    })
    // Running (no event this time): the page says so, and keeps the wallet's own failure as a
    // detail instead of contradicting the dashboard.
    running = true
    const up = await own()
    expect(up?.online).toBe(true)
    if (up?.lastError) expect(up.lastError).toMatch(/^The box’s mint is running, but/)
  })
})
