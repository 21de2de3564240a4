// The box's LND is killed (SIGKILL) in the middle of a payment and started again: the box must
// report the payment's final state as LND decides it once it answers again — paid → succeeded
// (LND holds the preimage, nothing is sent twice), refused → failed — through its API and its
// live events. Also the engine crashing between “sent” and “result”.
//
// LND is the world LND SIMULATOR as its own process (the bundle a test image runs), configured
// by an lnd.conf as the box renders it, with the box's LND plus two peers (bob, carol) in that
// process, keeping channel.db on disk as LND does. Channels only exist between nodes of one
// process, so SIGKILL stops bob and carol too and all three come back from their channel.db.
// The payment is held in flight by a hold invoice at carol (box → bob → carol).
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { lightningPaths } from '../../src/core/lightning/lightning-module'
import type {
  ChannelView,
  LightningBalances,
  LightningStatus,
  PaymentView,
} from '../../src/shared/api/lightning'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { bundleSimulators, type BundledSimulators } from '../simulators/bundle'
import { lightningBox, type LightningBox } from './lightning-harness'
import { eventually } from './eventually'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })

let work: string
let bundled: BundledSimulators
let bitcoind: BitcoindSimulator
let box: LightningBox
let lndDir: string
let proc: ChildProcess | undefined
let output = ''
const ports: Record<string, number> = {}
const BURN = Buffer.from(`0014${'5a'.repeat(20)}`, 'hex')

/** Starts the LND process; resolves once `ready` appears in what it printed since. */
async function startLndProcess(ready: string): Promise<void> {
  const from = output.length
  const p = spawn(process.execPath, [bundled.files['lnd-world-simulator'], `--lnddir=${lndDir}`], {
    env: {
      PATH: process.env.PATH,
      LND_WORLD_HOST: '127.0.0.1',
      LND_WORLD_PEERS: `bob:${ports.bobGrpc}:${ports.bobRest},carol:${ports.carolGrpc}:${ports.carolRest}`,
      LND_WORLD_CHANNELS: 'bob-carol-1000000',
      LND_WORLD_POLL_MS: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc = p
  p.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  p.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const until = Date.now() + 60_000
  while (!output.slice(from).includes(ready)) {
    if (p.exitCode !== null || Date.now() > until)
      throw new Error(`world LND process did not come up:\n${output.slice(from)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function killLnd(): Promise<void> {
  const p = proc!
  const exited = new Promise((r) => p.once('exit', r))
  p.kill('SIGKILL')
  await exited
  proc = undefined
}

const peerAuth = (name: 'bob' | 'carol') => {
  const dir = join(lndDir, 'world-peers', name)
  return {
    socket: `127.0.0.1:${name === 'bob' ? ports.bobGrpc : ports.carolGrpc}`,
    cert: readFileSync(join(dir, 'tls.cert')).toString('base64'),
    macaroon: readFileSync(
      join(dir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon'),
    ).toString('base64'),
  }
}
/** A fresh client (one made before a kill may still be backing off its reconnect). */
const peer = (name: 'bob' | 'carol') => ln.authenticatedLndGrpc(peerAuth(name)).lnd
const boxAdmin = () =>
  ln.authenticatedLndGrpc({
    socket: `127.0.0.1:${ports.grpc}`,
    cert: readFileSync(join(lndDir, 'tls.cert')).toString('base64'),
    macaroon: readFileSync(join(box.paths.adminMacaroon)).toString('base64'),
  }).lnd

const paymentOf = async (id: string) =>
  (await box.call<PaymentView[]>('payments')).find((p) => p.id === id)

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'flashbox-ln-killed-'))
  bundled = bundleSimulators(join(work, 'bundle'))
  bitcoind = await startBitcoindSimulator({
    network: 'regtest',
    chain: true,
    rpcauth: [makeRpcauth('lnd', 'lnd-rpc-password', '00112233445566778899aabbccddeeff')],
    warmupMs: 0,
    log: () => undefined,
  })
  for (const k of ['grpc', 'rest', 'bobGrpc', 'bobRest', 'carolGrpc', 'carolRest'])
    ports[k] = await freePort()
  box = await lightningBox({
    startLnd: async (p: ReturnType<typeof lightningPaths>) => {
      lndDir = p.lndDir
      // The keys the box's catalog renders for LND (src/core/stack), pointing at the simulator.
      writeFileSync(
        join(lndDir, 'lnd.conf'),
        [
          '[Application Options]',
          'alias=box',
          `rpclisten=127.0.0.1:${ports.grpc}`,
          `restlisten=127.0.0.1:${ports.rest}`,
          `wallet-unlock-password-file=${p.passwordFile}`,
          'wallet-unlock-allow-create=true',
          '[Bitcoin]',
          'bitcoin.regtest=1',
          '[Bitcoind]',
          `bitcoind.rpchost=${new URL(bitcoind.url).host}`,
          'bitcoind.rpcuser=lnd',
          'bitcoind.rpcpass=lnd-rpc-password',
          '',
        ].join('\n'),
      )
      await startLndProcess('Opened 1 channel(s)')
      return {
        socket: `127.0.0.1:${ports.grpc}`,
        close: async () => {
          if (proc) await killLnd()
        },
      }
    },
  })
  // Fund the box's LND on chain and open box → bob through the box's API.
  const { address } = await box.call<{ address: string }>('newAddress')
  bitcoind.world!.mine(1, address)
  bitcoind.world!.mine(100, BURN)
  await eventually(
    async () => {
      const b = await box.call<LightningBalances>('balances')
      return b.onchainSat > 0 ? b : undefined
    },
    'box funded',
    { retryErrors: true },
  )
  const bob = await ln.getWalletInfo({ lnd: peer('bob') })
  await box.call('connectPeer', { uri: bob.uris![0]! })
  await box.call('openChannel', {
    peerPublicKey: bob.public_key,
    amountSat: 600_000,
    feeRate: 2,
    private: false,
  })
  bitcoind.world!.mine(6, BURN)
  await eventually(
    async () => {
      const list = await box.call<ChannelView[]>('channels')
      return list.find((c) => c.state === 'active')
    },
    'box → bob active',
    { retryErrors: true },
  )
}, 180_000)

afterAll(async () => {
  if (process.env.DEBUG_LND_OUTPUT) console.log(output)
  await box?.close()
  if (proc) await killLnd()
  await bitcoind?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** A hold invoice at carol and the box paying it through its API, held in flight at carol. */
async function heldPayment(tokens: number) {
  const secret = randomBytes(32)
  const id = createHash('sha256').update(secret).digest('hex')
  const carol = peer('carol')
  const { request } = await ln.createHodlInvoice({ lnd: carol, id, tokens })
  const pay = box.call<PaymentView>('pay', { request, feeLimitSat: 100 })
  await eventually(
    async () => {
      const inv = await ln.getInvoice({ lnd: carol, id })
      return inv.is_held ? inv : undefined
    },
    'HTLC held at carol',
    { retryErrors: true },
  )
  return { secret, id, request, pay }
}

const boxLocalSat = async () =>
  (await box.call<ChannelView[]>('channels')).find((c) => c.state === 'active')?.localSat ?? -1

const ready = () =>
  box.until(
    (s: LightningStatus) => s.wallet === 'ready' && s.node !== undefined && !s.problem,
    'ready after LND restart',
  )

describe('LND killed mid-payment (world LND SIMULATOR as a process)', () => {
  it('paid while LND was away: succeeded once, with LND holding the preimage, and the UI told', async () => {
    const localBefore = await boxLocalSat()
    const held = await heldPayment(25_000)
    expect((await paymentOf(held.id))?.state).toBe('pending')

    await killLnd()
    // The payment stream died with LND: the box does not guess, it keeps the payment pending.
    const answer = await held.pay
    expect(answer.state).toBe('pending')

    await startLndProcess('[carol] channel.db restored')
    await ready()
    // LND still has the payment in flight and carol still holds the HTLC (both from channel.db).
    expect((await ln.getInvoice({ lnd: peer('carol'), id: held.id })).is_held).toBe(true)
    expect((await paymentOf(held.id))?.state).toBe('pending')
    // Asked to pay again while LND holds it: nothing new is sent.
    const again = await box.call<PaymentView>('pay', { request: held.request, feeLimitSat: 100 })
    expect(again.state).toBe('pending')

    box.events.length = 0
    await ln.settleHodlInvoice({ lnd: peer('carol'), secret: held.secret.toString('hex') })
    const final = await eventually(
      async () => {
        await box.until(() => true, 'step')
        const p = await paymentOf(held.id)
        return p?.state === 'succeeded' ? p : undefined
      },
      'succeeded after restart',
      { retryErrors: true },
    )
    expect(final.amountSat).toBe(25_000)
    // The UI's live stream carried the outcome, without the preimage.
    const event = box.events.find(
      (e) =>
        e.topic === 'lightning' &&
        e.type === 'payment' &&
        e.payment.id === held.id &&
        e.payment.state === 'succeeded',
    )
    expect(event).toBeDefined()
    expect(JSON.stringify(box.events)).not.toContain(held.secret.toString('hex'))

    // LND's own record: one payment for this hash, succeeded, with the preimage of the hash.
    const lnd = boxAdmin()
    const inLnd = await ln.getPayment({ lnd, id: held.id })
    expect(inLnd.is_confirmed).toBe(true)
    expect(
      createHash('sha256').update(Buffer.from(inLnd.payment!.secret, 'hex')).digest('hex'),
    ).toBe(held.id)
    const { payments } = await ln.getPayments({ lnd })
    expect(payments.filter((p) => p.id === held.id)).toHaveLength(1)
    // Paid once: carol got the amount once, and the box's channel gave amount + fee once.
    const inv = await ln.getInvoice({ lnd: peer('carol'), id: held.id })
    expect(inv.is_confirmed).toBe(true)
    expect(inv.received).toBe(25_000)
    // (balances are whole sat, the fee is 1,025 msat: allow the rounding, not a second payment)
    const spent = localBefore - (await boxLocalSat())
    expect(spent).toBeGreaterThanOrEqual(25_000 + inLnd.payment!.fee)
    expect(spent).toBeLessThanOrEqual(25_000 + inLnd.payment!.fee + 1)
    await expect(
      box.call('pay', { request: held.request, feeLimitSat: 100 }),
    ).rejects.toMatchObject({ code: 'lightning.already_paid' })
  }, 120_000)

  it('refused while LND was away: failed, and the channel balance comes back', async () => {
    const localBefore = await boxLocalSat()
    const held = await heldPayment(30_000)
    await killLnd()
    expect((await held.pay).state).toBe('pending')
    await startLndProcess('[carol] channel.db restored')
    await ready()
    expect((await paymentOf(held.id))?.state).toBe('pending')

    await ln.cancelHodlInvoice({ lnd: peer('carol'), id: held.id })
    const final = await eventually(
      async () => {
        await box.until(() => true, 'step')
        const p = await paymentOf(held.id)
        return p?.state === 'failed' ? p : undefined
      },
      'failed after restart',
      { retryErrors: true },
    )
    expect(final.failure).toBe('rejected_by_recipient')
    expect(final.failureText).toMatch(/refused the payment/)
    expect((await ln.getPayment({ lnd: boxAdmin(), id: held.id })).is_failed).toBe(true)
    expect(await boxLocalSat()).toBe(localBefore)
  }, 120_000)

  it('the engine crashes between “sent” and “result”: the result is read from LND on the next start', async () => {
    const held = await heldPayment(15_000)
    await box.engine.stop()
    expect((await held.pay).state).toBe('pending')
    // Settled while the box's engine is not running.
    await ln.settleHodlInvoice({ lnd: peer('carol'), secret: held.secret.toString('hex') })
    await eventually(
      async () => {
        const p = await ln.getPayment({ lnd: boxAdmin(), id: held.id })
        return p.is_confirmed ? p : undefined
      },
      'LND saw it paid',
      { retryErrors: true },
    )
    await box.startEngine()
    const final = await eventually(
      async () => {
        await box.until(() => true, 'step')
        const p = await paymentOf(held.id)
        return p?.state === 'succeeded' ? p : undefined
      },
      'succeeded after engine restart',
      { retryErrors: true },
    )
    expect(final.amountSat).toBe(15_000)
  }, 120_000)
})
