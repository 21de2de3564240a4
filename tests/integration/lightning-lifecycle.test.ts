// LND's life cycle done by the box, against the LND SIMULATOR in `rpc` wallet mode (as LND with
// wallet-unlock-allow-create: no wallet until InitWallet, auto-unlock from the password file only
// at start). The stack's data folder differs from the engine's, as the wizard suggests. The
// simulator serves the box-made TLS certificate from <stack>/lnd, as the catalog mounts it.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { lightningModule, lightningPaths } from '../../src/core/lightning/lightning-module'
import { mintModule } from '../../src/core/mint/mint-module'
import { createLogger } from '../../src/core/log'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import { macaroonPath } from '../../src/core/stack/macaroons'
import type { StackSecrets } from '../../src/core/stack/spec'
import type { LightningStatus, SeedReveal } from '../../src/shared/api/lightning'
import type { MintStatus } from '../../src/shared/api/mint'
import { defaultSettings } from '../../src/shared/settings'
import { startLndSimulator, type LndSimulator } from '../simulators/lnd-simulator'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const OWNER = 'correct horse battery staple'
const CTX = { transport: 'internal' as const }

const engineDir = mkdtempSync(join(tmpdir(), 'flashbox-ln-engine-'))
const stackDir = mkdtempSync(join(tmpdir(), 'flashbox-ln-stack-'))
const settings = defaultSettings(stackDir)
const paths = lightningPaths(settings)
const logLines: string[] = []
const log = createLogger('test', {
  level: 'debug',
  sink: (l) => logLines.push(JSON.stringify(l)),
})
let secrets: StackSecrets
let sim: LndSimulator | undefined
let engine: Engine

async function startSim(): Promise<LndSimulator> {
  sim = await startLndSimulator({
    dir: paths.lndDir,
    // No password file: LND waits for UnlockWallet (the simulator then starts without one).
    wallet: {
      mode: 'rpc',
      ...(existsSync(paths.passwordFile) ? { passwordFile: paths.passwordFile } : {}),
    },
    grpcPort: sim?.grpcPort ?? 0,
    log: () => {},
  })
  return sim
}

const call = <T>(procedure: string, input: unknown = {}) =>
  engine.call('lightning', procedure, input, CTX) as Promise<T>

async function until(ok: (s: LightningStatus) => boolean, what: string): Promise<LightningStatus> {
  const lightning = engine.module('lightning') as unknown as {
    reconcile(): Promise<LightningStatus>
  }
  const end = Date.now() + 20_000
  for (;;) {
    const s = await lightning.reconcile()
    if (ok(s)) return s
    if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(s)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

beforeAll(async () => {
  writeFileSync(join(engineDir, 'settings.json'), JSON.stringify(settings))
  // What the catalog writes into LND's folder before LND starts.
  secrets = await loadOrCreateStackSecrets(stackDir)
  mkdirSync(paths.lndDir, { recursive: true })
  writeFileSync(join(paths.lndDir, 'tls.cert'), secrets.lndTls.certPem)
  writeFileSync(join(paths.lndDir, 'tls.key'), secrets.lndTls.keyPem, { mode: 0o600 })
  writeFileSync(paths.passwordFile, secrets.lndWalletPassword, { mode: 0o600 })
  await startSim()
  engine = await createEngine({
    dataDir: engineDir,
    log,
    modules: [
      lightningModule({
        endpoint: () => ({ socket: sim!.socket, cert: secrets.lndTls.certPem }),
        pollMs: 100,
        readyPollMs: 500,
      }),
      mintModule({ port: 0, lndSocket: `127.0.0.1:${sim!.grpcPort}` }),
    ],
  })
})

afterAll(async () => {
  await engine?.stop()
  await sim?.close()
  rmSync(engineDir, { recursive: true, force: true })
  rmSync(stackDir, { recursive: true, force: true })
})

describe('the box’s LND life cycle (simulator)', () => {
  it('waits for the owner’s password before it creates a wallet whose words it must keep', async () => {
    const s = await until((s) => s.wallet === 'waiting_for_owner', 'waiting')
    expect(s.problem?.code).toBe('lightning.needs_owner')
    expect(s.vault).toBe(false)
    expect((await sim!.control.state()).walletState).toBe('NON_EXISTING')
    // Desktop (no login password yet): the owner chooses one, and a short one is refused.
    await expect(call('protectSeed', { password: 'short' })).rejects.toMatchObject({
      code: 'lightning.password_too_short',
    })
    expect((await sim!.control.state()).walletState).toBe('NON_EXISTING')
  })

  it('the owner’s password → wallet created with the stack password, macaroons baked 0600', async () => {
    // What the Lightning page does: ask the status, and once it says ready, the balances. While
    // the wallet is created and the macaroons baked, a "ready" must mean the balances answer.
    let watching = true
    const asked: string[] = []
    const page = (async () => {
      while (watching) {
        const st = await call<LightningStatus>('status')
        if (st.wallet === 'ready') {
          await call('balances').then(
            () => asked.push('balances'),
            (err: { code?: string }) => asked.push(`refused: ${err.code}`),
          )
          return
        }
        await new Promise((r) => setTimeout(r, 2))
      }
    })()
    await engine.module('lightning')!.ownerPasswordEntered!(OWNER)
    const s = await until(
      (s) => s.wallet === 'ready' && s.macaroons.every((m) => m.present),
      'ready',
    )
    watching = false
    await page
    expect(asked).toEqual(['balances'])
    expect(s.vault).toBe(true)
    expect(s.seed).toEqual({ stored: true, confirmed: false })
    expect(s.node?.publicKey).toBe(sim!.publicKey)
    for (const consumer of ['btcpay', 'mint', 'dashboard', 'app'] as const) {
      const p = macaroonPath(stackDir, consumer)
      expect(statSync(p).mode & 0o777, consumer).toBe(0o600)
    }
    expect(statSync(paths.sealedSeed).mode & 0o777).toBe(0o600)
    expect(existsSync(paths.pendingSeed)).toBe(false)
  })

  it('each macaroon does its job and nothing more', async () => {
    const lndWith = (consumer: 'btcpay' | 'mint' | 'dashboard' | 'app') =>
      ln.authenticatedLndGrpc({
        cert: Buffer.from(secrets.lndTls.certPem).toString('base64'),
        macaroon: readFileSync(macaroonPath(stackDir, consumer)).toString('hex'),
        socket: sim!.socket,
      }).lnd
    const mint = lndWith('mint')
    const inv = await ln.createInvoice({ lnd: mint, tokens: 1000 })
    expect(inv.request).toMatch(/^lnbcrt/)
    await expect(ln.getChainBalance({ lnd: mint })).rejects.toBeDefined()
    const btcpay = lndWith('btcpay')
    expect((await ln.getChainBalance({ lnd: btcpay })).chain_balance).toBeGreaterThan(0)
    const request = sim!.control.createPeerInvoice(1000n).paymentRequest
    await expect(ln.pay({ lnd: btcpay, request })).rejects.toBeDefined()
    const dashboard = lndWith('dashboard')
    await expect(ln.createInvoice({ lnd: dashboard, tokens: 1 })).rejects.toBeDefined()
    expect((await ln.getWalletInfo({ lnd: dashboard })).public_key).toBe(sim!.publicKey)
    const app = lndWith('app')
    expect((await ln.getChannels({ lnd: app })).channels.length).toBeGreaterThan(0)
  })

  it('the embedded mint runs on the box’s LND with its own macaroon', async () => {
    const end = Date.now() + 20_000
    let s: MintStatus
    for (;;) {
      s = (await engine.call('mint', 'status', {}, CTX)) as MintStatus
      if (s.running || Date.now() > end) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(s.running, JSON.stringify(s.problem)).toBe(true)
    expect(s.backend?.name).toMatch(/lnd/i)
  })

  it('shows the recovery words once, behind the owner’s password, with a word check', async () => {
    await expect(call('revealSeed', { password: 'not the password' })).rejects.toMatchObject({
      code: 'lightning.wrong_password',
    })
    const shown = await call<SeedReveal>('revealSeed', { password: OWNER })
    expect(shown.words).toHaveLength(24)
    expect(shown.check).toHaveLength(3)
    // What the box stored is what LND has: the simulator derives its node key from the words.
    const wrongAnswers = shown.check.map((position) => ({ position, word: 'zzz' }))
    await expect(call('confirmSeed', { answers: wrongAnswers })).rejects.toMatchObject({
      code: 'lightning.seed_check_failed',
    })
    const answers = shown.check.map((position) => ({ position, word: shown.words[position - 1]! }))
    const s = await call<LightningStatus>('confirmSeed', { answers })
    expect(s.seed.confirmed).toBe(true)
    await expect(call('revealSeed', { password: OWNER })).rejects.toMatchObject({
      code: 'lightning.seed_already_shown',
    })
    // Never in a log line.
    const all = logLines.join('\n')
    expect(all).not.toContain(shown.words.slice(0, 4).join(' '))
    for (const consumer of ['mint', 'app'] as const) {
      expect(all).not.toContain(readFileSync(macaroonPath(stackDir, consumer)).toString('hex'))
    }
  })

  it('after a restart LND unlocks from its password file; the baked macaroons stay valid', async () => {
    const before = readFileSync(macaroonPath(stackDir, 'app'))
    await sim!.close()
    await until((s) => s.wallet === 'unreachable', 'down')
    await startSim()
    const s = await until((s) => s.wallet === 'ready' && s.node !== undefined, 'back')
    expect(s.problem).toBeUndefined()
    expect(readFileSync(macaroonPath(stackDir, 'app')).equals(before)).toBe(true)
  })

  it('without the password file the wallet stays locked, is explained, and unlocks from the UI', async () => {
    await sim!.close()
    rmSync(paths.passwordFile)
    await startSim()
    const locked = await until((s) => s.wallet === 'locked', 'locked')
    expect(locked.problem?.code).toBe('lightning.locked')
    expect(locked.problem?.hint).toMatch(/Unlock/)
    const s = await call<LightningStatus>('unlock')
    expect(['starting', 'ready']).toContain(s.wallet)
    await until((s) => s.wallet === 'ready', 'unlocked')
    expect(readFileSync(paths.passwordFile, 'utf8')).toBe(secrets.lndWalletPassword)
    expect(statSync(paths.passwordFile).mode & 0o777).toBe(0o600)
  })
})
