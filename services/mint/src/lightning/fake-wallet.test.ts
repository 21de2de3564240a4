import { describe, expect, it } from 'vitest'
import { FakeWalletBackend } from './fake-wallet'
import { describeLightningBackendConformance } from './backend.conformance'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

describeLightningBackendConformance('fake wallet', async () => {
  const backend = new FakeWalletBackend({
    network: 'regtest',
    statePath: ':memory:',
    incomingPayDelayMs: -1,
    feeMsat: 1000,
  })
  // Invoices from "someone else": another fake wallet that never pays itself.
  const payee = new FakeWalletBackend({
    network: 'regtest',
    statePath: ':memory:',
    incomingPayDelayMs: -1,
  })
  return {
    backend,
    async payIncoming(_request, paymentHash) {
      backend.payIncoming(paymentHash)
    },
    async createPayable(amountMsat) {
      const r = await payee.createIncomingRequest({
        amountMsat,
        description: 'payable',
        expirySeconds: 600,
      })
      return { request: r.request, paymentHash: r.paymentHash }
    },
    async failNext() {
      backend.setNextOutgoing('FAILED')
    },
    async holdNext() {
      backend.setNextOutgoing('PENDING')
      return { settle: async (hash) => backend.resolveOutgoing(hash, 'PAID') }
    },
    async close() {
      await backend.close()
      await payee.close()
    },
  }
})

describe('fake wallet specifics', () => {
  it('pays its own invoices after the configured delay and survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-wallet-'))
    try {
      const path = join(dir, 'w.sqlite')
      const a = new FakeWalletBackend({
        network: 'regtest',
        statePath: path,
        incomingPayDelayMs: 50,
      })
      const inc = await a.createIncomingRequest({
        amountMsat: 1000,
        description: null,
        expirySeconds: 60,
      })
      await a.close()
      const b = new FakeWalletBackend({
        network: 'regtest',
        statePath: path,
        incomingPayDelayMs: 50,
      })
      await new Promise((r) => setTimeout(r, 120))
      expect((await b.checkIncoming(inc.paymentHash)).state).toBe('PAID')
      await b.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fails invoices whose description asks for it, and refuses fees above the limit', async () => {
    const w = new FakeWalletBackend({
      network: 'regtest',
      statePath: ':memory:',
      incomingPayDelayMs: -1,
      feeMsat: 3000,
    })
    const payee = new FakeWalletBackend({
      network: 'regtest',
      statePath: ':memory:',
      incomingPayDelayMs: -1,
    })
    const f = await payee.createIncomingRequest({
      amountMsat: 5000,
      description: 'fake:fail',
      expirySeconds: 60,
    })
    expect(
      (await w.makePayment({ request: f.request, paymentHash: f.paymentHash, maxFeeMsat: 10_000 }))
        .state,
    ).toBe('FAILED')
    const g = await payee.createIncomingRequest({
      amountMsat: 5000,
      description: 'ok',
      expirySeconds: 60,
    })
    expect(
      (await w.makePayment({ request: g.request, paymentHash: g.paymentHash, maxFeeMsat: 2000 }))
        .state,
    ).toBe('FAILED')
    await w.close()
    await payee.close()
  })
})
