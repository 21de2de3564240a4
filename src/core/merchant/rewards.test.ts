import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log'
import { verifyBtcpaySig } from './btcpay-webhook'
import type { GreenfieldClient } from './greenfield-client'
import { MerchantStore, type InvoiceRow } from './merchant-store'
import { applyReward } from './reward-deliveries'
import { ledgerCsv, rewardAmount, rewardName } from './rewards'
import { createHmac } from 'node:crypto'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function store() {
  const d = mkdtempSync(join(tmpdir(), 'flashbox-rewards-'))
  dirs.push(d)
  return new MerchantStore(join(d, 'm.db'))
}

const sale = (over: Partial<InvoiceRow> = {}): InvoiceRow => ({
  id: 'inv1',
  status: 'Settled',
  additional_status: 'None',
  amount: '9',
  currency: 'EUR',
  created_at: Date.now(),
  settled_at: Date.now(),
  order_id: null,
  description: null,
  checkout_link: 'http://x/i/inv1',
  ...over,
})

/** A Greenfield stand-in that records calls and keeps pull payments. */
function fakeClient(existing: { id: string; name: string; viewLink: string }[] = []) {
  const calls: string[] = []
  const pps = [...existing]
  const client = {
    call: async (method: string, path: string, body: { name: string } | undefined) => {
      calls.push(`${method} ${path}`)
      if (method === 'GET') return pps
      const pp = {
        id: `pp${pps.length + 1}`,
        name: body!.name,
        viewLink: `http://x/pull-payments/pp${pps.length + 1}`,
      }
      pps.push(pp)
      return pp
    },
  } as unknown as GreenfieldClient
  return { client, calls, pps }
}

describe('rewards', () => {
  it('rounds the reward down in the currency’s unit', () => {
    expect(rewardAmount('9', 'EUR', 5)).toBe('0.45')
    expect(rewardAmount('10.99', 'EUR', 3)).toBe('0.32')
    expect(rewardAmount('12345', 'SATS', 2)).toBe('246')
    expect(rewardAmount('0.001', 'BTC', 1)).toBe('0.00001000')
  })

  it('issues one pull payment per settled sale, however often it is applied', async () => {
    const s = store()
    s.upsertInvoice(sale())
    const { client, calls, pps } = fakeClient()
    const o = {
      store: s,
      rule: { enabled: true, percent: 5, delivery: 'auto' as const },
      invoice: sale(),
      client,
      storeId: 'st',
      log: silentLogger,
    }
    const first = await applyReward(o)
    expect(first).toMatchObject({
      invoiceId: 'inv1',
      rewardAmount: '0.45',
      state: 'issued',
      pullPaymentId: 'pp1',
    })
    expect(await applyReward(o)).toBeNull()
    expect(pps).toHaveLength(1)
    // A fresh row needs no look-up: one POST only.
    expect(calls).toEqual(['POST /api/v1/stores/st/pull-payments'])
    expect(await applyReward({ ...o, invoice: sale({ id: 'inv2', status: 'New' }) })).toBeNull()
    expect(
      await applyReward({
        ...o,
        invoice: sale({ id: 'inv3' }),
        rule: { enabled: false, percent: 5, delivery: 'auto' },
      }),
    ).toBeNull()
  })

  it('finishes a reward a crash left pending without making a second pull payment', async () => {
    const s = store()
    s.beginReward({
      invoice_id: 'inv1',
      invoice_amount: '9',
      currency: 'EUR',
      percent: 5,
      reward_amount: '0.45',
      method: 'claim',
    })
    // BTCPay made it before the crash; the box never wrote it down.
    const { client, calls, pps } = fakeClient([
      { id: 'ppA', name: rewardName('inv1'), viewLink: 'http://x/pull-payments/ppA' },
    ])
    const entry = await applyReward({
      store: s,
      rule: { enabled: true, percent: 5, delivery: 'auto' as const },
      invoice: sale(),
      client,
      storeId: 'st',
      log: silentLogger,
    })
    expect(entry).toMatchObject({ state: 'issued', pullPaymentId: 'ppA' })
    expect(calls).toEqual(['GET /api/v1/stores/st/pull-payments'])
    expect(pps).toHaveLength(1)
  })

  it('exports the ledger as CSV with spreadsheet formulas neutralised', () => {
    const s = store()
    s.beginReward({
      invoice_id: '=HYPERLINK("x")',
      invoice_amount: '9',
      currency: 'EUR',
      percent: 5,
      reward_amount: '0.45',
      method: 'claim',
    })
    const csv = ledgerCsv(s.rewards())
    expect(csv.split('\r\n')[0]).toBe(
      'date,invoice,invoice_amount,currency,percent,reward,reward_sat,method,to,status,reference,reason,funded_by',
    )
    expect(csv).toContain(`"'=HYPERLINK(""x"")",9,EUR,5,0.45,,claim,,pending,,`)
  })
})

describe('BTCPay-Sig', () => {
  const body = Buffer.from('{"type":"InvoiceSettled"}')
  const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`
  it('accepts BTCPay’s HMAC of the raw body and refuses anything else', () => {
    expect(verifyBtcpaySig('s3cret', body, sig)).toBe(true)
    expect(verifyBtcpaySig('other', body, sig)).toBe(false)
    expect(verifyBtcpaySig('s3cret', Buffer.from('{"type":"InvoiceSettled" }'), sig)).toBe(false)
    expect(verifyBtcpaySig('s3cret', body, undefined)).toBe(false)
    expect(verifyBtcpaySig('s3cret', body, sig.slice(0, -2))).toBe(false)
    expect(verifyBtcpaySig('s3cret', body, sig.replace('sha256=', 'sha1='))).toBe(false)
  })
})
