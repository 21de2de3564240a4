// Internal settlement between the box and its own mint (services/mint/README.md "Internal
// settlement"), with the mint in its OWN process (services/mint/src/main.ts) as in a container:
//   - the shared key arrives as a file the mint waits for, reads and deletes, and never prints;
//   - crash safety of the melt saga through the box's hook: the mint is SIGKILLed with proofs
//     PENDING before the hook is asked, after it answered, and while it is still settling; on
//     restart it asks /status — it never spends proofs without the box's PAID, never calls /pay
//     again for a hash the box settled, and releases on FAILED / UNKNOWN;
//   - on the world's LND simulator (which, like LND, refuses self-payments): an invoice of the
//     mint's own node is refused in plain words without the hook and settled once with it; a melt
//     into the mint's own quote is settled internally.
// The box's side is tests/simulators/settlement-hook.ts (signed, idempotent per payment hash).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type * as Lightning from 'lightning'
import { hexToBytes } from '@noble/hashes/utils.js'
import { encodeBolt11 } from '../../services/mint/src/nut23-bolt11'
import { startSettlementHook, type SettlementHookSimulator } from '../simulators/settlement-hook'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import {
  mintProofs,
  post,
  spawnMint,
  stopMint,
  tempDir,
  wallet,
  type MintProcess,
} from './mint-harness'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const OWN_NODE = "This invoice is on the mint's own Lightning node, which cannot pay itself."

const key = randomBytes(32)
const keyHex = key.toString('hex')
const dirs: string[] = []
const hooks: SettlementHookSimulator[] = []
const mints: MintProcess[] = []
afterAll(async () => {
  for (const m of mints) await stopMint(m)
  for (const h of hooks) await h.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Spawns the mint with the key delivered as a file (written `delayMs` after the spawn). */
async function mintWithKey(
  dataDir: string,
  env: Record<string, string>,
  delayMs = 0,
): Promise<MintProcess> {
  const keyFile = join(dataDir, '..', `internal-settlement-${randomBytes(4).toString('hex')}.key`)
  const write = () => writeFileSync(keyFile, `${keyHex}\n`, { mode: 0o600 })
  if (delayMs === 0) write()
  const timer = delayMs ? setTimeout(write, delayMs) : undefined
  const m = await spawnMint({
    dataDir,
    env: {
      FLASHBOX_MINT_INTERNAL_KEY_FILE: keyFile,
      MINT_INTERNAL_SETTLEMENT_TIMEOUT_MS: '1000',
      FLASHBOX_LOG_LEVEL: 'info',
      ...env,
    },
  })
  clearTimeout(timer)
  mints.push(m)
  // Read, then deleted: nothing on disk, nothing in the output.
  expect(existsSync(keyFile)).toBe(false)
  expect(m.output.join('')).not.toContain(keyHex)
  return m
}

/** The fake wallet's node key (its own SQLite), to write invoices of the mint's own node. */
function fakeNodeKey(dataDir: string): Uint8Array {
  const db = new DatabaseSync(join(dataDir, 'fake-wallet.sqlite'), { readOnly: true })
  try {
    const r = db.prepare("SELECT value FROM meta WHERE key = 'node_key'").get() as { value: string }
    return hexToBytes(r.value)
  } finally {
    db.close()
  }
}

function ownNodeInvoice(nodeKey: Uint8Array, sat: number) {
  const preimage = randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const request = encodeBolt11({
    network: 'regtest',
    amountMsat: sat * 1000,
    paymentHash,
    paymentSecret: randomBytes(32).toString('hex'),
    description: 'shop invoice',
    expirySeconds: 600,
    nodeKey,
  })
  return { request, paymentHash, preimage: preimage.toString('hex') }
}

async function meltQuoteState(url: string, quote: string) {
  return (await (await fetch(`${url}/v1/melt/quote/bolt11/${quote}`)).json()) as {
    state: string
    payment_preimage: string | null
  }
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  let v = await read()
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200))
    v = await read()
  }
  return v
}

const states = async (
  url: string,
  proofs: Parameters<Awaited<ReturnType<typeof wallet>>['checkProofsStates']>[0],
) =>
  [...new Set((await (await wallet(url)).checkProofsStates(proofs)).map((s) => s.state))].join(',')

describe('the key arrives as a file', () => {
  it('the mint waits for it, reads it, deletes it and serves the signed route with it', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const m = await mintWithKey(dataDir, {}, 700)
    const unsigned = await post(m.url, '/internal/v1/mint-quote/abc/settle', {
      payment_hash: 'ab'.repeat(32),
    })
    expect(unsigned.status).toBe(401)
    await stopMint(m)
  })
})

describe('melt through the box’s hook survives SIGKILL', () => {
  const cases = [
    // Proofs PENDING, the hook never asked: released once /status says UNKNOWN.
    { step: 'before_payment', hook: 'PAID', expect: 'released', pays: 0 },
    // The box settled; the mint died before recording it: settled from /status.
    { step: 'after_payment', hook: 'PAID', expect: 'settled', pays: 1 },
    // The box answered FAILED; the mint died before releasing: released from /status.
    { step: 'after_payment', hook: 'FAILED', expect: 'released', pays: 1 },
  ] as const

  it.each(cases)('crash $step (box says $hook) → $expect', async (c) => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const hook = await startSettlementHook(key)
    hooks.push(hook)
    const env = { MINT_INTERNAL_SETTLEMENT_URL: hook.url }
    let m = await mintWithKey(dataDir, { ...env, MINT_CRASH_AT: c.step })
    const w = await wallet(m.url)
    const proofs = await mintProofs(w, 32)
    const inv = ownNodeInvoice(fakeNodeKey(dataDir), 20)
    hook.knowInvoice(inv.paymentHash, 20_000, inv.preimage)
    if (c.hook === 'FAILED') hook.nextPay('FAILED')
    const q = (await post(m.url, '/v1/melt/quote/bolt11', { request: inv.request, unit: 'sat' }))
      .json as { quote: string; fee_reserve: number }
    expect(q.fee_reserve).toBe(0)
    const melt = post(m.url, '/v1/melt/bolt11', { quote: q.quote, inputs: proofs }).catch(
      (err: unknown) => err,
    )
    expect(await m.exited).toBe('SIGKILL')
    expect(await melt).toBeInstanceOf(Error)
    expect(hook.calls.filter((x) => x.op === 'pay')).toHaveLength(c.pays)

    m = await mintWithKey(dataDir, env)
    const quote = await until(
      () => meltQuoteState(m.url, q.quote),
      (s) => s.state !== 'PENDING',
    )
    const after = await states(m.url, proofs)
    if (c.expect === 'settled') {
      expect(quote).toMatchObject({ state: 'PAID', payment_preimage: inv.preimage })
      expect(after).toBe('SPENT')
      expect(hook.settled.get(inv.paymentHash)).toBe(1)
    } else {
      expect(quote.state).toBe('UNPAID')
      expect(after).toBe('UNSPENT')
      expect(hook.settled.get(inv.paymentHash)).toBeUndefined()
      // The released proofs spend again.
      expect((await (await wallet(m.url)).send(8, proofs)).send.length).toBeGreaterThan(0)
    }
    // Recovery asked /status, never /pay again.
    expect(hook.calls.filter((x) => x.op === 'pay')).toHaveLength(c.pays)
    expect(hook.calls.some((x) => x.op === 'status')).toBe(true)
    // A second melt of a settled invoice is refused before the box is asked again.
    if (c.expect === 'settled') {
      const w2 = await wallet(m.url)
      const more = await mintProofs(w2, 32)
      const q2 = (await post(m.url, '/v1/melt/quote/bolt11', { request: inv.request, unit: 'sat' }))
        .json as { quote: string }
      const again = await post(m.url, '/v1/melt/bolt11', { quote: q2.quote, inputs: more })
      expect(again.json).toMatchObject({ code: 20006 })
      expect(hook.calls.filter((x) => x.op === 'pay')).toHaveLength(1)
    }
    await stopMint(m)
  })

  it('killed while the box is still settling: stays PENDING across the restart until the box decides', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const hook = await startSettlementHook(key)
    hooks.push(hook)
    const env = { MINT_INTERNAL_SETTLEMENT_URL: hook.url }
    let m = await mintWithKey(dataDir, env)
    const w = await wallet(m.url)
    const proofs = await mintProofs(w, 16)
    const inv = ownNodeInvoice(fakeNodeKey(dataDir), 10)
    hook.knowInvoice(inv.paymentHash, 10_000, inv.preimage)
    hook.nextPay('hang')
    const q = (await post(m.url, '/v1/melt/quote/bolt11', { request: inv.request, unit: 'sat' }))
      .json as { quote: string }
    const melt = await post(m.url, '/v1/melt/bolt11', { quote: q.quote, inputs: proofs })
    expect(melt.json).toMatchObject({ state: 'PENDING' })
    m.proc.kill('SIGKILL')
    await m.exited

    m = await mintWithKey(dataDir, env)
    // Several pending checks later it still waits: the box says PENDING.
    await until(
      async () => hook.calls.filter((x) => x.op === 'status').length,
      (n) => n >= 3,
    )
    expect((await meltQuoteState(m.url, q.quote)).state).toBe('PENDING')
    expect(await states(m.url, proofs)).toBe('PENDING')
    hook.resolve(inv.paymentHash, { state: 'PAID', preimage: inv.preimage })
    const done = await until(
      () => meltQuoteState(m.url, q.quote),
      (s) => s.state !== 'PENDING',
    )
    expect(done.state).toBe('PAID')
    expect(await states(m.url, proofs)).toBe('SPENT')
    expect(hook.calls.filter((x) => x.op === 'pay')).toHaveLength(1)
    expect(hook.settled.get(inv.paymentHash)).toBe(1)
    await stopMint(m)
  })
})

describe('on the world’s LND simulator (the box’s one LND)', () => {
  let dir: string
  let net: LightningNetwork
  const lndOf = (name: string) => ln.authenticatedLndGrpc(net.nodes[name]!.lnServiceAuth()).lnd
  let lndEnv: Record<string, string>

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-mint-internal-world-'))
    dirs.push(dir)
    net = await startLightningNetwork({
      chain: new Chain(),
      dir,
      nodes: ['box', 'peer'],
      channels: [['peer', 'box', 1_000_000]],
      rest: false,
      log: () => {},
    })
    const box = net.nodes.box!
    writeFileSync(join(dir, 'box-tls.cert'), box.cert)
    writeFileSync(join(dir, 'box-admin.macaroon'), box.macaroons.admin)
    lndEnv = {
      MINT_BACKEND: 'lnd',
      MINT_LND_SOCKET: box.socket,
      MINT_LND_CERT_PATH: join(dir, 'box-tls.cert'),
      MINT_LND_MACAROON_PATH: join(dir, 'box-admin.macaroon'),
    }
  })
  afterAll(async () => {
    await net?.close()
  })

  /** eCash paid for by the channel peer (a customer topping up over Lightning). */
  async function funded(url: string, amount: number) {
    const w = await wallet(url)
    const q = await w.createMintQuoteBolt11(amount)
    await ln.pay({ lnd: lndOf('peer'), request: q.request })
    await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    return { w, proofs: await w.mintProofsBolt11(amount, q) }
  }

  it('own-node invoices: refused without the hook, settled once with it; own mint quotes internally', async () => {
    const dataDir = join(dir, 'mint')
    // The shop's invoice on the box's LND (what BTCPay creates). LND cannot pay it itself —
    // which is what a melt of it did before internal settlement.
    const shop = await ln.createInvoice({ lnd: lndOf('box'), tokens: 21, description: 'shop' })
    await expect(ln.pay({ lnd: lndOf('box'), request: shop.request })).rejects.toMatchObject([
      expect.any(Number),
      expect.any(String),
      { err: expect.objectContaining({ details: 'no self-payments allowed' }) },
    ])

    // Without the box's hook: refused at the quote, in plain words.
    let m = await mintWithKey(dataDir, lndEnv)
    const { w, proofs } = await funded(m.url, 64)
    await expect(w.createMeltQuoteBolt11(shop.request)).rejects.toMatchObject({
      code: 20004,
      message: OWN_NODE,
    })
    // A melt into another wallet's mint quote is settled inside the mint.
    const other = await wallet(m.url)
    const oq = await other.createMintQuoteBolt11(10)
    const mq = await w.createMeltQuoteBolt11(oq.request)
    expect(Number(mq.fee_reserve)).toBe(0)
    const internal = await w.meltProofsBolt11(mq, proofs)
    expect(internal.quote.state).toBe('PAID')
    expect((await other.mintProofsBolt11(10, oq)).length).toBeGreaterThan(0)
    // The quote's invoice is cancelled on LND: nobody can pay it again over Lightning.
    const oqInvoice = await ln.getInvoice({
      lnd: lndOf('box'),
      id: (
        ln as unknown as { parsePaymentRequest(a: { request: string }): { id: string } }
      ).parsePaymentRequest({ request: oq.request }).id,
    })
    expect(oqInvoice).toMatchObject({ is_canceled: true, is_confirmed: false })
    await stopMint(m)

    // With the hook: the box settles the shop's invoice; LND pays nothing.
    const hook = await startSettlementHook(key)
    hooks.push(hook)
    hook.knowInvoice(shop.id, 21_000, shop.secret)
    m = await mintWithKey(dataDir, { ...lndEnv, MINT_INTERNAL_SETTLEMENT_URL: hook.url })
    const w2 = await wallet(m.url)
    const change = internal.change
    const q = await w2.createMeltQuoteBolt11(shop.request)
    expect(Number(q.fee_reserve)).toBe(0)
    const paid = await w2.meltProofsBolt11(q, change)
    expect(paid.quote.state).toBe('PAID')
    expect(paid.quote.payment_preimage).toBe(shop.secret)
    expect(hook.settled.get(shop.id)).toBe(1)
    expect(hook.calls.filter((x) => x.op === 'pay')).toHaveLength(1)
    await expect(ln.getPayment({ lnd: lndOf('box'), id: shop.id })).rejects.toBeDefined()
    // Once settled, never again.
    const { proofs: more } = await funded(m.url, 32)
    const q2 = await w2.createMeltQuoteBolt11(shop.request)
    await expect(w2.meltProofsBolt11(q2, more)).rejects.toMatchObject({ code: 20006 })
    expect(hook.calls.filter((x) => x.op === 'pay')).toHaveLength(1)
    await stopMint(m)
  })
})
