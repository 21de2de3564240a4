// Crash safety of the melt saga: the mint (its own process) is SIGKILLed at each step of a
// melt — before, during and after the Lightning payment — via the TEST-ONLY MINT_CRASH_AT hook,
// then restarted on the same data. It must ask Lightning what really happened and either
// settle (proofs SPENT, change restorable) or release (proofs UNSPENT): never both, never lost.
import { afterAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import { OutputData } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { encodeBolt11 } from '../../services/mint/src/nut23-bolt11'
import {
  mintProofs,
  post,
  spawnMint,
  stopMint,
  sum,
  tempDir,
  wallet,
  type MintProcess,
} from './mint-harness'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function invoice(sat: number, description: string) {
  const paymentHash = randomBytes(32).toString('hex')
  const request = encodeBolt11({
    network: 'regtest',
    amountMsat: sat * 1000,
    paymentHash,
    paymentSecret: randomBytes(32).toString('hex'),
    description,
    expirySeconds: 600,
    nodeKey: secp256k1.utils.randomSecretKey(),
  })
  return { request, paymentHash }
}

/** What the Lightning side (the fake wallet's own database) says about a payment. */
function lightningState(dataDir: string, paymentHash: string): string {
  const db = new DatabaseSync(join(dataDir, 'fake-wallet.sqlite'), { readOnly: true })
  try {
    const r = db.prepare('SELECT state FROM outgoing WHERE payment_hash = ?').get(paymentHash) as
      { state: string } | undefined
    return r?.state ?? 'NONE'
  } finally {
    db.close()
  }
}

const cases = [
  { step: 'after_reserve', description: 'crash', expect: 'released' },
  { step: 'before_payment', description: 'crash', expect: 'released' },
  { step: 'during_payment', description: 'crash', expect: 'settled' },
  { step: 'after_payment', description: 'crash', expect: 'settled' },
  { step: 'during_payment', description: 'fake:fail', expect: 'released' },
] as const

describe('melt survives SIGKILL at every step', () => {
  it.each(cases)('crash $step ($description) → $expect', async (c) => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const env = {
      MINT_CRASH_AT: c.step,
      MINT_FAKE_OUTGOING_DELAY_MS: '300',
      MINT_FAKE_FEE_MSAT: '1000',
    }
    let mint: MintProcess | undefined = await spawnMint({ dataDir, env })
    try {
      const w = await wallet(mint.url)
      const proofs = await mintProofs(w, 64)
      const inv = invoice(40, c.description)
      const q = (
        await post(mint.url, '/v1/melt/quote/bolt11', { request: inv.request, unit: 'sat' })
      ).json as {
        quote: string
        fee_reserve: number
      }
      const blanks = OutputData.createRandomData(4, w.keyChain.getCheapestKeyset(), [1, 1, 1, 1])
      const melt = post(mint.url, '/v1/melt/bolt11', {
        quote: q.quote,
        inputs: proofs,
        outputs: blanks.map((b) => b.blindedMessage),
      }).catch((err: unknown) => err)
      expect(await mint.exited).toBe('SIGKILL')
      expect(await melt).toBeInstanceOf(Error)

      mint = await spawnMint({
        dataDir,
        env: { MINT_FAKE_OUTGOING_DELAY_MS: '300', MINT_FAKE_FEE_MSAT: '1000' },
      })
      const w2 = await wallet(mint.url)
      const end = Date.now() + 20_000
      let quote = { state: 'PENDING' }
      while (quote.state === 'PENDING' && Date.now() < end) {
        quote = (await (await fetch(`${mint.url}/v1/melt/quote/bolt11/${q.quote}`)).json()) as {
          state: string
        }
        if (quote.state === 'PENDING') await new Promise((r) => setTimeout(r, 200))
      }
      const states = (await w2.checkProofsStates(proofs)).map((s) => s.state)
      const paid = lightningState(dataDir, inv.paymentHash)
      if (c.expect === 'settled') {
        expect(paid).toBe('PAID')
        expect(quote.state).toBe('PAID')
        expect(states.every((s) => s === 'SPENT')).toBe(true)
        // The change promised for the overpaid fee is recoverable with NUT-09.
        const restored = (
          await post(mint.url, '/v1/restore', { outputs: blanks.map((b) => b.blindedMessage) })
        ).json as { signatures: { amount: number }[] }
        expect(sum(restored.signatures)).toBe(64 - 40 - 1)
        // …and the quote itself now carries it, in the order of the blank outputs.
        const settled = (await (
          await fetch(`${mint.url}/v1/melt/quote/bolt11/${q.quote}`)
        ).json()) as {
          change?: { amount: number }[]
        }
        expect(settled.change?.map((c) => c.amount)).toEqual([1, 2, 4, 16])
      } else {
        expect(paid === 'NONE' || paid === 'FAILED').toBe(true)
        expect(quote.state).toBe('UNPAID')
        expect(states.every((s) => s === 'UNSPENT')).toBe(true)
        // The released proofs are spendable again.
        const again = await w2.send(8, proofs)
        expect(sum(again.send)).toBe(8)
      }
    } finally {
      await stopMint(mint)
    }
  })
})
