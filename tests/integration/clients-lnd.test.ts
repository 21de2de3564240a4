// ln-service itself, and the engine's LndClient, against the LND SIMULATOR (real protos over
// TLS with macaroons; in-process, no Docker).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LndClient } from '../../src/core/clients/lnd'
import { FlashError } from '../../src/core/errors'
import { startLndSimulator, type LndSimulator } from '../simulators/lnd-simulator'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const quiet = () => {}

let alice: LndSimulator
let bob: LndSimulator
let aliceDir: string
let bobDir: string
const lndOf = (sim: LndSimulator, macaroon: Buffer = sim.macaroons.admin) =>
  ln.authenticatedLndGrpc({
    cert: Buffer.from(sim.cert).toString('base64'),
    macaroon: macaroon.toString('hex'),
    socket: sim.socket,
  }).lnd

beforeAll(async () => {
  aliceDir = mkdtempSync(join(tmpdir(), 'flashbox-lnd-sim-a-'))
  bobDir = mkdtempSync(join(tmpdir(), 'flashbox-lnd-sim-b-'))
  alice = await startLndSimulator({ dir: aliceDir, alias: 'alice', log: quiet })
  bob = await startLndSimulator({ dir: bobDir, alias: 'bob', log: quiet })
  await alice.control.addPeer(bob.controlUrl)
})
afterAll(async () => {
  await alice?.close()
  await bob?.close()
  rmSync(aliceDir, { recursive: true, force: true })
  rmSync(bobDir, { recursive: true, force: true })
})

describe('ln-service against the LND SIMULATOR', () => {
  it('writes tls.cert and macaroons where LND does, secrets 0600', () => {
    const mac = join(aliceDir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon')
    expect(readFileSync(mac).equals(alice.macaroons.admin)).toBe(true)
    expect(statSync(mac).mode & 0o777).toBe(0o600)
    expect(statSync(join(aliceDir, 'tls.key')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(aliceDir, 'tls.cert'), 'utf8')).toBe(alice.cert)
  })

  it('getWalletInfo, getWalletVersion, balances and channels', async () => {
    const lnd = lndOf(alice)
    const info = await ln.getWalletInfo({ lnd })
    expect(info.public_key).toBe(alice.publicKey)
    expect(info.alias).toBe('alice')
    expect(info.is_synced_to_chain).toBe(true)
    // The regtest genesis hash, in LND's byte order.
    expect(info.chains).toEqual([
      '06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f',
    ])
    const version = await ln.getWalletVersion({ lnd })
    expect(version.version).toBe('0.19.2-beta')
    expect((await ln.getChainBalance({ lnd })).chain_balance).toBe(1_000_000)
    expect((await ln.getChannelBalance({ lnd })).channel_balance).toBeGreaterThan(0)
    const { channels } = await ln.getChannels({ lnd })
    expect(channels).toHaveLength(1)
    expect(channels[0]!.partner_public_key).toBe(alice.peerPublicKey)
  })

  it('createInvoice → subscribeToInvoice sees it paid when the channel peer pays', async () => {
    const lnd = lndOf(alice)
    const invoice = await ln.createInvoice({ lnd, tokens: 2_100, description: 'coffee' })
    const decoded = await ln.decodePaymentRequest({ lnd, request: invoice.request })
    expect(decoded.destination).toBe(alice.publicKey)
    expect(decoded.tokens).toBe(2_100)
    expect(decoded.description).toBe('coffee')
    expect(decoded.id).toBe(invoice.id)

    const sub = ln.subscribeToInvoice({ lnd, id: invoice.id })
    const confirmed = new Promise<{ is_confirmed: boolean; received: number; secret: string }>(
      (resolve) =>
        sub.on(
          'invoice_updated',
          (i: { is_confirmed: boolean; received: number; secret: string }) => {
            if (i.is_confirmed) resolve(i)
          },
        ),
    )
    expect(await alice.control.payFromPeer(invoice.request)).toMatchObject({ status: 'settled' })
    const paid = await confirmed
    sub.removeAllListeners()
    expect(paid.received).toBe(2_100)
    expect(paid.secret).toBe(invoice.secret)
    const looked = await ln.getInvoice({ lnd, id: invoice.id })
    expect(looked.is_confirmed).toBe(true)
    // Paying a settled invoice again fails, as in LND.
    expect(await alice.control.payFromPeer(invoice.request)).toMatchObject({ status: 'failed' })
  })

  it('payViaPaymentRequest pays another node’s invoice with its real preimage; getPayment agrees', async () => {
    const lndA = lndOf(alice)
    const lndB = lndOf(bob)
    const invoice = await ln.createInvoice({ lnd: lndB, tokens: 777, description: 'from alice' })
    const paid = await ln.payViaPaymentRequest({ lnd: lndA, request: invoice.request })
    expect(paid.id).toBe(invoice.id)
    expect(paid.secret).toBe(invoice.secret)
    expect(paid.fee).toBeGreaterThanOrEqual(1)
    expect((await ln.getInvoice({ lnd: lndB, id: invoice.id })).is_confirmed).toBe(true)
    const payment = await ln.getPayment({ lnd: lndA, id: invoice.id })
    expect(payment.is_confirmed).toBe(true)
    expect(payment.payment?.secret).toBe(invoice.secret)
    const { payments } = await ln.getPayments({ lnd: lndA })
    expect(payments.some((p) => p.id === invoice.id)).toBe(true)
    // Paying it twice is refused.
    await expect(
      ln.payViaPaymentRequest({ lnd: lndA, request: invoice.request }),
    ).rejects.toBeDefined()
  })

  it('payments can be made to fail or to stay in flight through the control API', async () => {
    const lnd = lndOf(alice)
    const unknown = await ln.createInvoice({ lnd: lndOf(bob), tokens: 10 })
    alice.control.setPaymentMode('fail', 'FAILURE_REASON_NO_ROUTE')
    const failed = await ln.payViaPaymentRequest({ lnd, request: unknown.request }).catch((e) => e)
    expect(failed).toEqual([503, 'PaymentPathfindingFailedToFindPossibleRoute'])

    alice.control.setPaymentMode('hold')
    const held = alice.control.createPeerInvoice(5_000n)
    const sub = ln.subscribeToPayViaRequest({ lnd, request: held.paymentRequest })
    const outcome = new Promise<string>((resolve) => {
      sub.on('confirmed', () => resolve('confirmed'))
      sub.on('failed', () => resolve('failed'))
    })
    await expect
      .poll(async () => (await ln.getPayment({ lnd, id: held.paymentHash })).is_pending, {
        timeout: 10_000,
      })
      .toBe(true)
    alice.control.resolvePayment(held.paymentHash, 'succeed')
    expect(await outcome).toBe('confirmed')
    expect((await ln.getPayment({ lnd, id: held.paymentHash })).is_confirmed).toBe(true)
    alice.control.setPaymentMode('settle')
  })

  it('cancels an invoice when it expires, and the peer can no longer pay it', async () => {
    const lnd = lndOf(alice)
    const expiresAt = new Date(Date.now() + 2_000).toISOString()
    const invoice = await ln.createInvoice({ lnd, tokens: 10, expires_at: expiresAt })
    await expect
      .poll(async () => (await ln.getInvoice({ lnd, id: invoice.id })).is_canceled, {
        timeout: 15_000,
      })
      .toBe(true)
    expect(await alice.control.payFromPeer(invoice.request)).toMatchObject({ status: 'failed' })
  })

  it('hold invoices: accepted by the payer, settled with the preimage', async () => {
    const lnd = lndOf(alice)
    const secret = Buffer.alloc(32, 7)
    const id = (await import('node:crypto')).createHash('sha256').update(secret).digest('hex')
    const hodl = await ln.createHodlInvoice({ lnd, id, tokens: 300 })
    expect(await alice.control.payFromPeer(hodl.request)).toEqual({ status: 'accepted' })
    expect((await ln.getInvoice({ lnd, id })).is_held).toBe(true)
    await ln.settleHodlInvoice({ lnd, secret: secret.toString('hex') })
    expect((await ln.getInvoice({ lnd, id })).is_confirmed).toBe(true)
  })

  it('refuses a macaroon of another node, and writes with a read-only macaroon', async () => {
    const foreign = await ln
      .getWalletInfo({ lnd: lndOf(alice, bob.macaroons.admin) })
      .catch((e) => e)
    expect(JSON.stringify(foreign)).toContain('verification failed')
    const readonly = lndOf(alice, alice.macaroons.readonly)
    expect((await ln.getWalletInfo({ lnd: readonly })).public_key).toBe(alice.publicKey)
    const denied = await ln.createInvoice({ lnd: readonly, tokens: 1 }).catch((e) => e)
    expect(JSON.stringify(denied)).toContain('permission denied')
  })
})

describe('ln-service: baked macaroons and the RPCs the box grants (src/core/stack/macaroons.ts)', () => {
  it('BakeMacaroon with entity:action and with method URIs; the simulator enforces both', async () => {
    const admin = lndOf(alice)
    const mint = await ln.grantAccess({
      lnd: admin,
      permissions: ['info:read', 'invoices:read', 'invoices:write', 'offchain:read'],
    })
    const mintLnd = lndOf(alice, Buffer.from(mint.macaroon, 'base64'))
    expect((await ln.getWalletInfo({ lnd: mintLnd })).public_key).toBe(alice.publicKey)
    const inv = await ln.createInvoice({ lnd: mintLnd, tokens: 21 })
    const denied = await ln
      .payViaPaymentRequest({
        lnd: mintLnd,
        request: alice.control.createPeerInvoice(1_000n).paymentRequest,
      })
      .catch((e) => e)
    expect(JSON.stringify(denied)).toContain('permission denied')
    expect((await ln.getInvoice({ lnd: mintLnd, id: inv.id })).tokens).toBe(21)

    const byUri = await ln.grantAccess({ lnd: admin, methods: ['getWalletInfo'] })
    expect(byUri.permissions.every((p) => p.startsWith('uri:/'))).toBe(true)
    const uriLnd = lndOf(alice, Buffer.from(byUri.macaroon, 'base64'))
    expect((await ln.getWalletInfo({ lnd: uriLnd })).public_key).toBe(alice.publicKey)
    expect(JSON.stringify(await ln.getChannelBalance({ lnd: uriLnd }).catch((e) => e))).toContain(
      'permission denied',
    )
    // A read-only macaroon cannot bake.
    const cannot = await ln
      .grantAccess({ lnd: lndOf(alice, alice.macaroons.readonly), permissions: ['info:read'] })
      .catch((e) => e)
    expect(cannot).toEqual([403, 'PermissionDeniedToBakeMacaroon'])
  })

  it('route fee estimates, pending channels, peers and chain transactions', async () => {
    const lnd = lndOf(alice)
    const toPeer = alice.control.createPeerInvoice(100_000n)
    expect(await ln.getRoutingFeeEstimate({ lnd, request: toPeer.paymentRequest })).toMatchObject({
      fee_mtokens: '0',
    })
    const toBob = await ln.createInvoice({ lnd: lndOf(bob), tokens: 1_000 })
    const viaPeer = await ln.getRoutingFeeEstimate({ lnd, request: toBob.request })
    expect(Number(viaPeer.fee_mtokens)).toBe(1_000 + 1_000)
    expect((await ln.getPendingChannels({ lnd })).pending_channels).toEqual([])
    expect((await ln.getPeers({ lnd })).peers.map((p) => p.public_key)).toEqual([
      alice.peerPublicKey,
    ])
    expect((await ln.getChainTransactions({ lnd })).transactions).toEqual([])
  })
})

describe('LndClient against the LND SIMULATOR', () => {
  it('reads sync info and balances', async () => {
    const client = new LndClient({
      socket: alice.socket,
      cert: alice.cert,
      macaroon: alice.macaroons.admin,
    })
    const info = await client.getInfo()
    expect(info).toMatchObject({
      publicKey: alice.publicKey,
      syncedToChain: true,
      syncedToGraph: true,
    })
    expect(info.blockHeight).toBeGreaterThan(0)
    const balances = await client.getBalances()
    expect(balances.onchainSat).toBe(1_000_000)
    client.close()
  })

  it('turns a foreign macaroon, a foreign certificate and a dead port into FlashErrors', async () => {
    const wrongMac = new LndClient({
      socket: alice.socket,
      cert: alice.cert,
      macaroon: bob.macaroons.admin,
    })
    expect(await wrongMac.getInfo().catch((e: FlashError) => e.code)).toBe('lnd.auth')
    wrongMac.close()
    // Pinned: bob's certificate is not trusted for alice's node.
    const wrongCert = new LndClient({
      socket: alice.socket,
      cert: bob.cert,
      macaroon: alice.macaroons.admin,
      timeoutMs: 10_000,
    })
    const tls = await wrongCert.getInfo().catch((e: FlashError) => e)
    expect(tls).toBeInstanceOf(FlashError)
    expect((tls as FlashError).code).toBe('lnd.tls')
    wrongCert.close()
    const dead = new LndClient({
      socket: '127.0.0.1:1',
      cert: alice.cert,
      macaroon: alice.macaroons.admin,
      timeoutMs: 10_000,
    })
    const down = await dead.getInfo().catch((e: FlashError) => e)
    expect((down as FlashError).code).toBe('lnd.unreachable')
    dead.close()
    expect(
      () => new LndClient({ socket: 'nope', cert: alice.cert, macaroon: alice.macaroons.admin }),
    ).toThrow(FlashError)
    expect(
      () =>
        new LndClient({ socket: alice.socket, cert: 'garbage', macaroon: alice.macaroons.admin }),
    ).toThrow(FlashError)
  })

  it('follows bitcoind: block height and sync state come from the chain backend', async () => {
    const { makeRpcauth, startBitcoindSimulator } = await import('../simulators/bitcoind-simulator')
    const bitcoind = await startBitcoindSimulator({
      rpcauth: [makeRpcauth('lnd', 'lnd-password-1', 'ffeeddccbbaa99887766554433221100')],
      headers: 150,
      blocksPerSecond: 100,
      log: quiet,
    })
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-lnd-sim-c-'))
    const carol = await startLndSimulator({
      dir,
      bitcoind: { url: bitcoind.url, user: 'lnd', password: 'lnd-password-1' },
      log: quiet,
    })
    try {
      const client = new LndClient({
        socket: carol.socket,
        cert: carol.cert,
        macaroon: carol.macaroons.admin,
      })
      await expect
        .poll(async () => (await client.getInfo().catch(() => null))?.syncedToChain, {
          timeout: 20_000,
        })
        .toBe(true)
      expect((await client.getInfo()).blockHeight).toBe(150)
      client.close()
    } finally {
      await carol.close()
      await bitcoind.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('LND SIMULATOR wallet lifecycle (as LND with wallet-unlock-allow-create)', () => {
  it('NON_EXISTING → GenSeed/InitWallet → SERVER_ACTIVE; restart auto-unlocks from the password file or waits for UnlockWallet', async () => {
    const { writeFileSync } = await import('node:fs')
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-lnd-sim-w-'))
    const passwordFile = join(dir, 'wallet-password')
    writeFileSync(passwordFile, 'a-long-wallet-password', { mode: 0o600 })
    const unauth = (sim: LndSimulator) =>
      ln.unauthenticatedLndGrpc({
        cert: Buffer.from(sim.cert).toString('base64'),
        socket: sim.socket,
      }).lnd
    let sim = await startLndSimulator({ dir, wallet: { mode: 'rpc', passwordFile }, log: quiet })
    try {
      expect(await ln.getWalletStatus({ lnd: unauth(sim) })).toMatchObject({ is_absent: true })
      const locked = await ln
        .getWalletInfo({ lnd: lndOf(sim, alice.macaroons.admin) })
        .catch((e) => e)
      expect(JSON.stringify(locked)).toContain('wallet not created')
      const { seed } = await ln.createSeed({ lnd: unauth(sim) })
      expect(seed.split(' ')).toHaveLength(24)
      const tooShort = await ln
        .createWallet({ lnd: unauth(sim), seed, password: 'short' })
        .catch((e) => e)
      expect(JSON.stringify(tooShort)).toContain('password must have at least 8 characters')
      // (lightning's createWallet resolves without the admin macaroon; LND also writes it to disk)
      await ln.createWallet({ lnd: unauth(sim), seed, password: 'a-long-wallet-password' })
      const macaroon = readFileSync(join(sim.macaroonDir, 'admin.macaroon'))
      expect(macaroon.equals(sim.macaroons.admin)).toBe(true)
      const lnd = lndOf(sim, macaroon)
      const first = await ln.getWalletInfo({ lnd })
      expect(await ln.getWalletStatus({ lnd: unauth(sim) })).toMatchObject({ is_ready: true })

      // Restart with the password file: unlocked at start, same node key (it comes from the seed).
      await sim.close()
      sim = await startLndSimulator({ dir, wallet: { mode: 'rpc', passwordFile }, log: quiet })
      expect((await ln.getWalletInfo({ lnd: lndOf(sim) })).public_key).toBe(first.public_key)

      // Restart without it: LOCKED until UnlockWallet with the right password.
      await sim.close()
      sim = await startLndSimulator({ dir, wallet: { mode: 'rpc' }, log: quiet })
      expect(await ln.getWalletStatus({ lnd: unauth(sim) })).toMatchObject({ is_locked: true })
      const wrong = await ln
        .unlockWallet({ lnd: unauth(sim), password: 'not-the-password' })
        .catch((e) => e)
      expect(wrong).toEqual([401, 'InvalidWalletUnlockPassword'])
      await ln.unlockWallet({ lnd: unauth(sim), password: 'a-long-wallet-password' })
      expect((await ln.getWalletInfo({ lnd: lndOf(sim) })).public_key).toBe(first.public_key)
    } finally {
      await sim.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reads lnd.conf and flags the way LND does', async () => {
    const { parseLndConf } = await import('../simulators/lnd-simulator')
    const conf = parseLndConf(
      [
        '; rendered by Flash Box',
        '[Application Options]',
        'rpclisten=0.0.0.0:10009',
        'tlscertpath=/data/.lnd/tls.cert',
        'tlsextradomain=lnd',
        'tlsextradomain=localhost',
        'tlsextraip=127.0.0.1',
        'wallet-unlock-password-file=/data/.lnd/wallet-password',
        'wallet-unlock-allow-create=true',
        '[Bitcoin]',
        'bitcoin.signet=true',
        'bitcoin.node=bitcoind',
        '[Bitcoind]',
        'bitcoind.rpchost=bitcoind:38332',
        'bitcoind.rpcuser=lnd',
        'bitcoind.rpcpass=secret',
      ].join('\n'),
      ['--lnddir=/data/.lnd', '--configfile=/data/.lnd/lnd.conf'],
    )
    expect(conf).toMatchObject({
      lnddir: '/data/.lnd',
      rpclisten: '0.0.0.0:10009',
      tlscertpath: '/data/.lnd/tls.cert',
      tlsextradomain: ['lnd', 'localhost'],
      tlsextraip: ['127.0.0.1'],
      network: 'signet',
      rpchost: 'bitcoind:38332',
      rpcuser: 'lnd',
      rpcpass: 'secret',
      walletUnlockPasswordFile: '/data/.lnd/wallet-password',
      walletUnlockAllowCreate: true,
    })
  })
})
