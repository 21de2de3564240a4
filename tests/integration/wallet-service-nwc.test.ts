// Nostr Wallet Connect served by the box: the box's LND is a node of the world network (a channel
// from bob, bob ↔ carol), the box's relay runs as its own child process, and the app is a
// separate process built on nostr-tools (nwc-client-process.mjs) that only has the connection
// string. It pays within its budget and is refused over it, calls only its allowed methods, is
// refused once revoked, and round-trips get_balance / make_invoice / lookup_invoice.
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempRelay } from './relay-harness'
import type { WalletServiceModule } from '../../src/core/lightning/wallet-service-module'
import type { CreatedNwcConnection, NwcConnectionView } from '../../src/shared/api/wallet-service'
import {
  eventually,
  ln,
  NwcApp,
  walletServiceWorld,
  type WalletServiceWorld,
} from './wallet-service-harness'

let w: WalletServiceWorld
const ws = <T>(procedure: string, input: unknown = {}) => w.call<T>(procedure, input)

const apps: NwcApp[] = []
const connect = async (input: Record<string, unknown>) => {
  const made = await ws<CreatedNwcConnection>('createConnection', input)
  const app = new NwcApp(made.uri)
  apps.push(app)
  return { made, app }
}

beforeAll(async () => {
  w = await walletServiceWorld()
}, 60_000)

afterAll(async () => {
  for (const a of apps) await a.close()
  await w?.close()
})

describe('Nostr Wallet Connect through the box’s relay, from a separate app process', () => {
  let spender: { made: CreatedNwcConnection; app: NwcApp }

  it('makes a connection: a nostr+walletconnect string shown once, the service key kept 0600, the app secret not kept', async () => {
    spender = await connect({
      name: 'Damus',
      methods: ['pay_invoice', 'get_balance', 'get_info', 'list_transactions', 'lookup_invoice'],
      budgetSat: 30_000,
      budgetPeriod: 'daily',
    })
    const { made } = spender
    expect(made.uri).toMatch(/^nostr\+walletconnect:\/\/[0-9a-f]{64}\?relay=ws/)
    expect(made.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    const secret = new URL(made.uri.replace('nostr+walletconnect://', 'http://')).searchParams.get(
      'secret',
    )!
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    const keysFile = join(w.box.engineDir, 'secrets', 'wallet-service-keys.json')
    expect(statSync(keysFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(keysFile, 'utf8')).not.toContain(secret)
    const listed = await ws<NwcConnectionView[]>('connections')
    expect(JSON.stringify(listed)).not.toContain(secret)
    expect(w.box.logLines.join('\n')).not.toContain(secret)
    expect(listed[0]).toMatchObject({ name: 'Damus', budgetSat: 30_000, spentSat: 0 })
  })

  it('publishes the info event (13194) with its methods and NIP-44 encryption', async () => {
    const info = await eventually(() => spender.app.info(), 'info event')
    expect(info.kind).toBe(13194)
    expect(info.content.split(' ')).toEqual([
      'pay_invoice',
      'lookup_invoice',
      'get_balance',
      'get_info',
      'list_transactions',
    ])
    expect(info.tags).toContainEqual(['encryption', 'nip44_v2 nip04'])
  })

  it('get_balance and get_info answer from LND', async () => {
    const bal = await spender.app.call('get_balance')
    expect(bal.error).toBeNull()
    expect(bal.result!.balance).toBeGreaterThan(290_000_000)
    const info = await spender.app.call('get_info')
    expect(info.result).toMatchObject({
      pubkey: w.boxLnd.pubkey,
      network: 'regtest',
      methods: expect.arrayContaining(['pay_invoice']),
    })
  })

  it('pays within its budget (preimage back), and is refused over it with QUOTA_EXCEEDED', async () => {
    const carol = w.lndOf('carol')
    const first = await ln.createInvoice({ lnd: carol, tokens: 10_000, description: 'coffee' })
    const paid = await spender.app.call('pay_invoice', { invoice: first.request })
    expect(paid.error).toBeNull()
    expect(
      createHash('sha256')
        .update(Buffer.from(String(paid.result!.preimage), 'hex'))
        .digest('hex'),
    ).toBe(first.id)
    const [view] = await ws<NwcConnectionView[]>('connections')
    expect(view!.spentSat).toBeGreaterThanOrEqual(10_000)
    expect(view!.spentSat).toBeLessThanOrEqual(10_100)
    expect(view!.remainingSat).toBe(30_000 - view!.spentSat)

    const second = await ln.createInvoice({ lnd: carol, tokens: 25_000 })
    const refused = await spender.app.call('pay_invoice', { invoice: second.request })
    expect(refused.error?.code).toBe('QUOTA_EXCEEDED')
    expect(refused.error?.message).toMatch(/budget/)
    const { is_confirmed } = await ln.getInvoice({ lnd: carol, id: second.id })
    expect(is_confirmed).toBe(false)
    // Nothing stays reserved for the refused payment.
    const [after] = await ws<NwcConnectionView[]>('connections')
    expect(after!.spentSat).toBe(view!.spentSat)

    // The paid one is the app's own transaction; the refused one is not.
    const list = await spender.app.call('list_transactions', {})
    const txs = list.result!.transactions as { payment_hash: string; type: string }[]
    expect(txs.map((t) => t.payment_hash)).toEqual([first.id])
    expect(txs[0]!.type).toBe('outgoing')
  })

  it('a method not allowed is RESTRICTED; bad params get OTHER; an unknown one NOT_IMPLEMENTED', async () => {
    const r = await spender.app.call('make_invoice', { amount: 1000 })
    expect(r.error?.code).toBe('RESTRICTED')
    expect(r.result_type).toBe('make_invoice')
    const bad = await spender.app.call('pay_invoice', { invoice: 'lnbcrt1garbage' })
    expect(bad.error?.code).toBe('OTHER')
    const unknown = await spender.app.call('pay_keysend', {
      amount: 1000,
      pubkey: '02' + '1'.repeat(64),
    })
    expect(unknown.error?.code).toBe('NOT_IMPLEMENTED')
  })

  it('make_invoice → paid by carol → lookup_invoice shows it settled, over NIP-44 and NIP-04', async () => {
    const { app } = await connect({
      name: 'Shop till',
      methods: ['make_invoice', 'lookup_invoice', 'get_balance'],
      budgetSat: null,
      budgetPeriod: 'total',
    })
    const before = (await app.call('get_balance')).result!.balance as number
    const made = await app.call('make_invoice', { amount: 21_000_000, description: 'till' })
    expect(made.error).toBeNull()
    const inv = made.result as { invoice: string; payment_hash: string; amount: number }
    expect(inv.amount).toBe(21_000_000)
    expect(inv.invoice).toMatch(/^lnbcrt210u1/)
    await ln.pay({ lnd: w.lndOf('carol'), request: inv.invoice })
    const found = await eventually(async () => {
      const r = await app.call('lookup_invoice', { payment_hash: inv.payment_hash })
      return r.result?.settled_at ? r : undefined
    }, 'settled')
    expect(found.result).toMatchObject({ type: 'incoming', state: 'settled', amount: 21_000_000 })
    expect(
      createHash('sha256')
        .update(Buffer.from(String(found.result!.preimage), 'hex'))
        .digest('hex'),
    ).toBe(inv.payment_hash)
    // An older client without the encryption tag is answered in NIP-04.
    const legacy = await app.call('lookup_invoice', { invoice: inv.invoice }, 'nip04')
    expect(legacy.result).toMatchObject({ payment_hash: inv.payment_hash, state: 'settled' })
    const after = (await app.call('get_balance')).result!.balance as number
    expect(after - before).toBe(21_000_000)
    // Another app's invoice is not this app's to look up.
    const other = await spender.app.call('lookup_invoice', { payment_hash: inv.payment_hash })
    expect(other.error?.code).toBe('NOT_FOUND')
  })

  it('an unknown encryption is UNSUPPORTED_ENCRYPTION; a burst of requests is RATE_LIMITED', async () => {
    const odd = await spender.app.call('get_balance', {}, 'nip99')
    expect(odd.error?.code).toBe('UNSUPPORTED_ENCRYPTION')
    // 60 a minute with a burst of 15 (the module's default): 24 at once cannot all pass.
    const answers = await Promise.all(
      Array.from({ length: 24 }, () => spender.app.call('get_info')),
    )
    const codes = answers.map((a) => a.error?.code ?? 'ok')
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThan(0)
    expect(codes.filter((c) => c === 'ok').length).toBeGreaterThan(0)
    expect(new Set(codes)).toEqual(new Set(['ok', 'RATE_LIMITED']))
  })

  it('works through another relay the connection names, not only the box’s', async () => {
    const other = await tempRelay()
    try {
      const made = await ws<CreatedNwcConnection>('createConnection', {
        name: 'Phone',
        methods: ['get_balance'],
        budgetSat: null,
        budgetPeriod: 'total',
        relays: [other.url],
      })
      expect(
        new URL(made.uri.replace('nostr+walletconnect://', 'http://')).searchParams.getAll('relay'),
      ).toHaveLength(2)
      const app = new NwcApp(made.uri, other.url)
      apps.push(app)
      const info = await eventually(() => app.info(), 'info event on the other relay')
      expect(info.content).toBe('get_balance')
      const bal = await app.call('get_balance')
      expect(bal.error).toBeNull()
      expect(bal.result!.balance).toBeGreaterThan(0)
      await app.close()
    } finally {
      await other.stop()
    }
  })

  it('a revoked connection is refused with UNAUTHORIZED', async () => {
    const { made, app } = await connect({
      name: 'Old app',
      methods: ['get_balance', 'pay_invoice'],
      budgetSat: 1000,
      budgetPeriod: 'weekly',
    })
    expect((await app.call('get_balance')).error).toBeNull()
    const list = await ws<NwcConnectionView[]>('revokeConnection', { id: made.connection.id })
    expect(list.find((c) => c.id === made.connection.id)?.revokedAt).toBeDefined()
    const refused = await app.call('get_balance')
    expect(refused.error?.code).toBe('UNAUTHORIZED')
    expect(refused.result).toBeNull()
  })

  it('the module is the one the headless server asks for the Lightning address', () => {
    const m = w.box.engine.module('walletService') as unknown as WalletServiceModule
    expect(typeof m.lnurlpResponse).toBe('function')
  })
})
