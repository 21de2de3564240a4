// The mint's LND backend (through ln-service) against the LND gRPC simulator (real
// lightning.proto, TLS, macaroons): the shared Lightning backend conformance suite, then the
// whole mint on LND with cashu-ts — a deposit paid by the channel peer and a payment out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet, injectWebSocketImpl } from '@cashu/cashu-ts'
import WebSocket from 'ws'
import { startLndSimulator, type LndSimulator } from '../simulators/lnd-simulator'
import { LndBackend } from '../../services/mint/src/lightning/lnd'
import { describeLightningBackendConformance } from '../../services/mint/src/lightning/backend.conformance'
import { startMint, type RunningMint } from '../../services/mint/src/index'
import { silentLogger } from '../../src/core/log'
import { createEngine } from '../../src/core/engine/engine'
import { mintModule } from '../../src/core/mint/mint-module'
import { macaroonPath } from '../../src/core/stack/macaroons'
import { stackSecretsPath } from '../../src/core/secrets/stack-secrets'
import type { MintStatus } from '../../src/shared/api/mint'
import { saveSettingsFile } from '../../src/core/engine/stack-module'
import { defaultSettings } from '../../src/shared/settings'

injectWebSocketImpl(WebSocket as unknown as Parameters<typeof injectWebSocketImpl>[0])

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'flashbox-mint-lnd-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function lndOptions(sim: LndSimulator) {
  return {
    socket: sim.socket,
    cert: sim.cert,
    macaroon: sim.macaroons.admin.toString('hex'),
    // Long enough that a settling payment is never mistaken for a held one on a loaded machine.
    pendingAfterMs: 4000,
  }
}

describeLightningBackendConformance('LND via ln-service (simulator)', async () => {
  const sim = await startLndSimulator({
    dir: tmp(),
    network: 'regtest',
    chainSyncDelayMs: 0,
    graphSyncDelayMs: 0,
    log: () => undefined,
  })
  const backend = new LndBackend(lndOptions(sim))
  return {
    backend,
    async payIncoming(request) {
      const r = await sim.control.payFromPeer(request)
      if (r.status !== 'settled') throw new Error(`peer payment ${r.status}`)
    },
    async createPayable(amountMsat) {
      sim.control.setPaymentMode('settle')
      const inv = sim.control.createPeerInvoice(BigInt(amountMsat), 'payable')
      return { request: inv.paymentRequest, paymentHash: inv.paymentHash }
    },
    async failNext() {
      sim.control.setPaymentMode('fail', 'FAILURE_REASON_NO_ROUTE')
    },
    async holdNext() {
      sim.control.setPaymentMode('hold')
      return {
        settle: async (hash: string) => {
          sim.control.resolvePayment(hash, 'succeed')
          sim.control.setPaymentMode('settle')
        },
      }
    },
    async close() {
      await backend.close()
      await sim.close()
    },
  }
})

describe('mint on LND (simulator) with cashu-ts', () => {
  let sim: LndSimulator
  let mint: RunningMint
  beforeAll(async () => {
    sim = await startLndSimulator({
      dir: tmp(),
      network: 'regtest',
      chainSyncDelayMs: 0,
      graphSyncDelayMs: 0,
      log: () => undefined,
    })
    mint = await startMint({
      port: 0,
      dataDir: tmp(),
      backend: { kind: 'lnd', ...lndOptions(sim) },
      config: { pendingCheckIntervalMs: 500 },
      log: silentLogger,
    })
  })
  afterAll(async () => {
    await mint?.close()
    await sim?.close()
  })

  it('mints when the peer pays the invoice and melts to a peer invoice with change', async () => {
    const w = new Wallet(mint.url, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(500)
    const paid = w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    const htlc = await sim.control.payFromPeer(q.request)
    expect(htlc.status).toBe('settled')
    await paid
    const proofs = await w.mintProofsBolt11(500, q)
    const invoice = sim.control.createPeerInvoice(200_000n, 'coffee')
    const mq = await w.createMeltQuoteBolt11(invoice.paymentRequest)
    expect(Number(mq.amount)).toBe(200)
    const { send } = await w.send(mq.amount.add(mq.fee_reserve), proofs, { includeFees: true })
    const res = await w.meltProofsBolt11(mq, send)
    expect(res.quote.state).toBe('PAID')
    expect(res.quote.payment_preimage).toMatch(/^[0-9a-f]{64}$/)
    const liabilities = await mint.mint.store.liabilities()
    expect(liabilities.reduce((a, l) => a + l.outstanding, 0)).toBeLessThanOrEqual(300)
  })

  it('releases the proofs when LND fails the payment', async () => {
    const w = new Wallet(mint.url, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(100)
    await sim.control.payFromPeer(q.request)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    const proofs = await w.mintProofsBolt11(100, q)
    const invoice = sim.control.createPeerInvoice(50_000n, 'will fail')
    const mq = await w.createMeltQuoteBolt11(invoice.paymentRequest)
    sim.control.setPaymentMode('fail', 'FAILURE_REASON_NO_ROUTE')
    await expect(w.meltProofsBolt11(mq, proofs)).rejects.toMatchObject({ code: 20004 })
    sim.control.setPaymentMode('settle')
    expect((await w.checkProofsStates(proofs)).every((s) => s.state === 'UNSPENT')).toBe(true)
  })
})

describe('the engine mint module on the box LND (simulator)', () => {
  it('finds LND through the stack (TLS cert, baked macaroon) and mints when the peer pays', async () => {
    const sim = await startLndSimulator({
      dir: tmp(),
      network: 'regtest',
      chainSyncDelayMs: 0,
      graphSyncDelayMs: 0,
      log: () => undefined,
    })
    // The engine's own folder and the stack's data folder (settings.dataDir) differ, as they do
    // with the wizard's suggestion: LND's certificate and macaroon are only in the stack's.
    const engineDir = tmp()
    const stackDir = tmp()
    saveSettingsFile(engineDir, defaultSettings(stackDir))
    // What the stack leaves on disk: its secrets (with LND's certificate) and the mint macaroon.
    mkdirSync(join(stackDir, 'secrets'), { recursive: true })
    writeFileSync(stackSecretsPath(stackDir), JSON.stringify({ lndTls: { certPem: sim.cert } }))
    mkdirSync(join(stackDir, 'lnd', 'macaroons', 'mint'), { recursive: true })
    writeFileSync(macaroonPath(stackDir, 'mint'), sim.macaroons.admin)
    const engine = await createEngine({
      dataDir: engineDir,
      log: silentLogger,
      modules: [
        mintModule({
          port: 0,
          lndSocket: sim.socket,
          placement: () => ({ mode: 'run', network: 'regtest', lnd: true }),
        }),
      ],
    })
    try {
      const s = (await engine.call('mint', 'status', {}, { transport: 'internal' })) as MintStatus
      expect(s.running).toBe(true)
      expect(s.backend).toMatchObject({ name: 'lnd', ok: true })
      const w = new Wallet(s.url!, { unit: 'sat' })
      await w.loadMint()
      const q = await w.createMintQuoteBolt11(42)
      await sim.control.payFromPeer(q.request)
      await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
      const proofs = await w.mintProofsBolt11(42, q)
      expect(proofs.reduce((a, p) => a + Number(p.amount), 0)).toBe(42)
    } finally {
      await engine.stop()
      await sim.close()
    }
  })
})
