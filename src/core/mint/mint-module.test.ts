import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { OutputData, Wallet } from '@cashu/cashu-ts'
import { createEngine, type Engine } from '../engine/engine'
import { silentLogger } from '../log'
import { mintModule, type MintPlacement } from './mint-module'
import type { MintStatus } from '../../shared/api/mint'
import type { EngineEvent } from '../../shared/api/events'
import { defaultSettings } from '../../shared/settings'

let engine: Engine | undefined
let dir = ''
afterEach(async () => {
  await engine?.stop()
  engine = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const internal = { transport: 'internal' } as const

async function start(
  placement: MintPlacement = { mode: 'run', network: 'regtest' },
): Promise<Engine> {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-mint-module-'))
  mkdirSync(join(dir, 'stack', 'mint'), { recursive: true })
  // An explicit fake backend, except when the test is about following the box's LND.
  if (!(placement.mode === 'run' && placement.lnd))
    writeFileSync(
      join(dir, 'stack', 'mint', 'config.json'),
      JSON.stringify({
        backend: { kind: 'fake', incomingPayDelayMs: 0, outgoingDelayMs: 0, feeMsat: 1000 },
      }),
    )
  engine = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [mintModule({ port: 0, placement: () => placement, restartBaseMs: 100 })],
  })
  return engine
}

describe('mint engine module', () => {
  it('runs the mint on loopback and reports keysets, liabilities and the backend', async () => {
    const e = await start()
    const events: EngineEvent[] = []
    e.events.subscribe((ev) => events.push(ev), ['mint'])
    const s = (await e.call('mint', 'status', {}, internal)) as MintStatus
    expect(s.running).toBe(true)
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(s.network).toBe('regtest')
    expect(s.backend?.name).toBe('fake')
    expect(s.keysets).toHaveLength(1)
    expect(s.outstandingTotal).toBe(0)

    const w = new Wallet(s.url!, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(21)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
    await w.mintProofsBolt11(21, q)

    const after = (await e.call('mint', 'status', {}, internal)) as MintStatus
    expect(after.outstandingTotal).toBe(21)
    expect(after.keysets[0]!.issued).toBe(21)

    const quotes = (await e.call('mint', 'quotes', { kind: 'mint' }, internal)) as {
      idPrefix: string
      state: string
    }[]
    expect(quotes[0]!.idPrefix).toBe(q.quote.slice(0, 8))
    expect(quotes[0]!.state).toBe('ISSUED')
    expect(JSON.stringify(quotes)).not.toContain(q.quote)
    expect(events.some((ev) => ev.type === 'quote')).toBe(true)
    // The seed is encrypted at rest and its key file is private.
    expect(statSync(join(dir, 'stack', 'mint', 'secrets', 'seed.key')).mode & 0o777).toBe(0o600)
  })

  it('rotates keysets (old one stays redeemable) and applies limits', async () => {
    const e = await start()
    const ks = (await e.call('mint', 'rotateKeyset', { inputFeePpk: 250 }, internal)) as {
      id: string
      active: boolean
      inputFeePpk: number
    }
    expect(ks.active).toBe(true)
    expect(ks.inputFeePpk).toBe(250)
    const s = (await e.call('mint', 'status', {}, internal)) as MintStatus
    expect(s.keysets.map((k) => k.active)).toEqual([false, true])
    expect(s.keysets[1]!.id).toBe(ks.id)
    const keysets = (await (await fetch(`${s.url}/v1/keysets`)).json()) as { keysets: unknown[] }
    expect(keysets.keysets).toHaveLength(2)

    // eCash from the retired keyset stays redeemable into the new one.
    const w = new Wallet(s.url!, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(64)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
    const fresh = await w.mintProofsBolt11(64, q)
    expect(fresh.every((p) => p.id === ks.id)).toBe(true)
    await e.call('mint', 'rotateKeyset', { inputFeePpk: 0 }, internal)
    // Proofs of the retired keyset are still accepted as inputs, into the new active keyset.
    await w.loadMint(true)
    const active = w.keyChain.getCheapestKeyset()
    expect(active.id).not.toBe(ks.id)
    // The retired keyset charged 250 ppk per input.
    const fee = Math.ceil((fresh.length * 250) / 1000)
    const outputs = OutputData.createRandomData(64 - fee, active).map((o) => ({
      ...o.blindedMessage,
      amount: Number(o.blindedMessage.amount),
    }))
    const inputs = fresh.map((p) => ({
      id: p.id,
      amount: Number(p.amount),
      secret: p.secret,
      C: p.C,
    }))
    const res = await fetch(`${s.url}/v1/swap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs, outputs }),
    })
    const body = (await res.json()) as { signatures: { id: string }[] }
    expect(res.status).toBe(200)
    expect(body.signatures.every((x) => x.id === active.id)).toBe(true)

    const limits = (await e.call('mint', 'setLimits', { mintMaxAmount: 500 }, internal)) as {
      mintMaxAmount: number
    }
    expect(limits.mintMaxAmount).toBe(500)
    const r = await fetch(`${s.url}/v1/mint/quote/bolt11`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 501, unit: 'sat' }),
    })
    expect(((await r.json()) as { code: number }).code).toBe(11006)
    await expect(
      e.call('mint', 'setLimits', { mintMinAmount: 1000 }, internal),
    ).rejects.toMatchObject({ code: 'mint.bad_limits' })
    await expect(
      e.call('mint', 'rotateKeyset', { inputFeePpk: -1 }, internal),
    ).rejects.toMatchObject({ code: 'api.bad_input' })
  })

  it('stays out of the way when switched off, in a container, or on mainnet with the test wallet', async () => {
    for (const [placement, code] of [
      [{ mode: 'disabled' }, 'mint.disabled'],
      [{ mode: 'container' }, 'mint.in_container'],
      [{ mode: 'run', network: 'mainnet' }, 'mint.needs_lightning'],
      [{ mode: 'run', network: 'regtest', lnd: true }, 'mint.waiting_for_lnd'],
    ] as const) {
      const e = await start(placement)
      const s = (await e.call('mint', 'status', {}, internal)) as MintStatus
      expect(s.running).toBe(false)
      expect(s.problem?.code).toBe(code)
      await expect(e.call('mint', 'quotes', {}, internal)).rejects.toMatchObject({ code })
      await e.stop()
      engine = undefined
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('runs the mint in its own process, and restarts it when it dies', async () => {
    const e = await start()
    const s = (await e.call('mint', 'status', {}, internal)) as MintStatus
    expect(s.running).toBe(true)
    const pid = s.process?.pid
    // Not the engine: the mint that faces the internet is its own process.
    expect(pid).toBeGreaterThan(0)
    expect(pid).not.toBe(process.pid)
    const keyset = s.keysets[0]!.id
    process.kill(pid!, 'SIGKILL')
    await expect
      .poll(
        async () => {
          const now = (await e.call('mint', 'status', {}, internal)) as MintStatus
          return now.running && now.process?.pid !== pid ? now.process : undefined
        },
        { timeout: 30_000, interval: 200 },
      )
      .toMatchObject({ running: true, restarts: 1, lastExit: { signal: 'SIGKILL' } })
    // Same seed and data: the same keyset.
    const after = (await e.call('mint', 'status', {}, internal)) as MintStatus
    expect(after.keysets.map((k) => k.id)).toContain(keyset)
  }, 60_000) // the restart is polled for up to 30 s: a loaded machine needs more than the 20 s default

  it('follows the saved settings: off, on with the test wallet, on with LND (waiting for it)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-mint-module-'))
    engine = await createEngine({
      dataDir: dir,
      log: silentLogger,
      modules: [mintModule({ port: 0 })],
    })
    const e = engine
    const status = async () => (await e.call('mint', 'status', {}, internal)) as MintStatus
    expect((await status()).running).toBe(true)
    const settings = defaultSettings(dir)
    const nudge = () =>
      e.events.publish({ topic: 'stack', type: 'service', service: {} } as unknown as EngineEvent)
    const waitFor = async (ok: (s: MintStatus) => boolean) => {
      // The mint's own process stops and starts in between: give it time.
      const end = Date.now() + 30_000
      for (;;) {
        const s = await status()
        if (ok(s)) return s
        if (Date.now() > end) throw new Error(`mint status never matched: ${JSON.stringify(s)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ ...settings, services: { ...settings.services, mint: false } }),
    )
    nudge()
    expect((await waitFor((s) => !s.running && !!s.problem)).problem?.code).toBe('mint.disabled')
    // On without LND: the test wallet on regtest.
    const noLnd = { ...settings, services: { ...settings.services, lnd: false } }
    writeFileSync(join(dir, 'settings.json'), JSON.stringify(noLnd))
    nudge()
    expect((await waitFor((s) => s.running)).backend?.name).toBe('fake')
    // With the box's LND: the mint waits until LND has baked the mint's macaroon.
    writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings))
    nudge()
    expect((await waitFor((s) => !s.running && !!s.problem)).problem?.code).toBe(
      'mint.waiting_for_lnd',
    )
  })
})
