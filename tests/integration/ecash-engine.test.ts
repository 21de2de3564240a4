// The engine as the app runs it: the box's own mint module and the ecash module together.
// The wallet finds the box's mint by itself, and the whole flow goes through engine.call —
// the same validated dispatch the window (IPC) and headless mode (HTTP) use.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { mintModule } from '../../src/core/mint/mint-module'
import { ecashModule } from '../../src/core/ecash/ecash-module'
import { createLogger } from '../../src/core/log'
import type { EngineEvent } from '../../src/shared/api/events'
import type {
  EcashMintView,
  EcashStatus,
  MintQuoteView,
  SendResult,
} from '../../src/shared/api/ecash'
import { eventually } from './eventually'

let dir: string
let engine: Engine
const events: EngineEvent[] = []
const logLines: string[] = []
const ctx = { transport: 'internal' } as const

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecash-engine-'))
  engine = await createEngine({
    dataDir: dir,
    log: createLogger('engine', { level: 'debug', sink: (l) => logLines.push(JSON.stringify(l)) }),
    modules: [mintModule({ port: 0 }), ecashModule({ backgroundIntervalMs: 1000 })],
  })
  engine.events.subscribe((e) => events.push(e), ['ecash'])
})

afterAll(async () => {
  await engine?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const call = <T>(procedure: string, input: unknown) =>
  engine.call('ecash', procedure, input, ctx) as Promise<T>

describe('ecash module with the box mint module', () => {
  it('uses the box’s own mint first, mints from Lightning and sends, all through the API', async () => {
    const status = await call<EcashStatus>('status', {})
    expect(status.ownMintUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const mints = await call<EcashMintView[]>('mints', {})
    expect(mints[0]).toMatchObject({ url: status.ownMintUrl, own: true })

    const quote = await call<MintQuoteView>('mintQuote', { amount: 50 })
    expect(quote.mintUrl).toBe(status.ownMintUrl)
    await eventually(
      async () => (await call<EcashStatus>('status', {})).total === 50,
      'the minted ecash',
    )
    expect(events.some((e) => e.type === 'quote-paid')).toBe(true)
    expect((await call<EcashMintView[]>('mints', {}))[0]).toMatchObject({
      online: true,
      supports: { websocket: true, lockedQuotes: true, restore: true, p2pk: true, dleq: true },
    })

    const sent = await call<SendResult>('send', { amount: 20 })
    expect(sent.token).toMatch(/^cashuB/)
    const after = await call<EcashStatus>('status', {})
    expect(after.total).toBe(30 - sent.fee)
    expect(after.balances[0]).toMatchObject({ pending: 20 })

    // The log tells what happened, and nothing anyone could spend or steal.
    const { words } = await call<{ words: string[] }>('backupSeed', { confirm: true })
    const log = logLines.join('\n')
    expect(log).toContain('eCash minted: done')
    expect(log).toContain('eCash sent: pending')
    expect(log).not.toContain(sent.token)
    expect(log).not.toContain(sent.token.slice(6, 60))
    expect(log).not.toContain(words.join(' '))
  })
})
