// Marking a tap's payout paid is tried again until BTCPay takes it (tap-settlement.ts). BTCPay
// refuses mark-paid on a payout it already shows Completed, so a try whose answer was lost (or a
// crash after BTCPay took it) must count as told, and any other refusal must not.
import { describe, expect, it } from 'vitest'
import { FlashError } from '../errors'
import type { GreenfieldClient } from '../merchant/greenfield-client'
import { BtcpayCardFunds } from './card-funds'

const refused = new FlashError(
  'merchant.greenfield_invalid_state',
  'BTCPay says the payout is not awaiting payment.',
  'Look at the payout in BTCPay.',
)

/** Greenfield's payout routes over one payout in `state`; every call is recorded. */
function greenfield(state: string, markPaid: 'ok' | 'refused') {
  const calls: string[] = []
  const client = {
    async call(method: string, path: string) {
      calls.push(`${method} ${path}`)
      if (path.endsWith('/mark-paid')) {
        if (markPaid === 'refused') throw refused
        return undefined
      }
      if (method === 'GET') return { id: 'po1', state, originalAmount: '1000', destination: 'x' }
      throw new Error(`unexpected ${method} ${path}`)
    },
  } as unknown as GreenfieldClient
  return {
    funds: new BtcpayCardFunds(
      () => client,
      () => 'store1',
    ),
    calls,
  }
}

describe('a tap payout marked paid in BTCPay', () => {
  it('is marked paid on the store-scoped route', async () => {
    const g = greenfield('AwaitingPayment', 'ok')
    await g.funds.markPaid('po1')
    expect(g.calls).toEqual(['POST /api/v1/stores/store1/payouts/po1/mark-paid'])
  })

  it('counts as told when BTCPay refuses because it shows the payout Completed already', async () => {
    const g = greenfield('Completed', 'refused')
    await expect(g.funds.markPaid('po1')).resolves.toBeUndefined()
    expect(g.calls).toEqual([
      'POST /api/v1/stores/store1/payouts/po1/mark-paid',
      'GET /api/v1/stores/store1/payouts/po1',
    ])
  })

  it('stays untold, with BTCPay’s own words, when the payout is still awaiting payment', async () => {
    const g = greenfield('AwaitingPayment', 'refused')
    await expect(g.funds.markPaid('po1')).rejects.toBe(refused)
  })
})
