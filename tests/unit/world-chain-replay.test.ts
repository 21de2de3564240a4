// Replays the Bitcoin Core v31 regtest recordings (tests/fixtures/bitcoind-v31) through the
// simulated chain: every real block from genesis is accepted, and every transaction the real node
// refused at height 114 is refused with the same reason, details, code and message.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Chain, ChainPolicyError } from '../simulators/world/chain'

const dir = join(__dirname, '../fixtures/bitcoind-v31')
const blocks = readFileSync(join(dir, 'chain/blocks.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { height: number; hash: string; block: string })

interface Recorded {
  body: { result?: unknown; error?: { code: number; message: string } | null }
}
interface PolicyCase {
  name: string
  tx_hex: string
  txid?: string
  testmempoolaccept: Recorded
  sendrawtransaction?: Recorded
}
const policy = JSON.parse(readFileSync(join(dir, 'mempool-policy.json'), 'utf8')) as {
  height_at_test: number
  cases: PolicyCase[]
}

// The recorded chain's block times are from when it was made; the clock is set after them.
const clock = () => 1_900_000_000_000

function chainUpTo(height: number): Chain {
  const chain = new Chain({ now: clock })
  expect(chain.tip().hash).toBe(blocks[0]!.hash)
  for (const b of blocks.slice(1, height + 1)) expect(chain.submitBlock(b.block)).toBe(b.hash)
  return chain
}

describe('simulated chain replays Bitcoin Core v31 regtest', () => {
  it('accepts every recorded block from genesis (0–250)', () => {
    const chain = chainUpTo(blocks.length - 1)
    expect(chain.tip()).toEqual({ height: 250, hash: blocks[250]!.hash })
  })

  it('refuses every recorded mempool-policy case as v31 did, in order, at height 114', () => {
    const chain = chainUpTo(policy.height_at_test)
    for (const c of policy.cases) {
      const tma = c.testmempoolaccept.body
      const got = chain.testAccept(
        c.tx_hex,
        c.name.includes('maxfeerate 0') ? { maxFeePerKvB: 0n } : {},
      )
      if (tma.error) {
        expect(got.allowed, c.name).toBe(false)
        if (!got.allowed) expect(got.code, c.name).toBe(tma.error.code)
      } else {
        const want = (tma.result as Array<Record<string, unknown>>)[0]!
        if (want.allowed) {
          expect(got, c.name).toMatchObject({ allowed: true, vsize: want.vsize })
          if (got.allowed)
            expect(Number(got.fee) / 1e8, c.name).toBeCloseTo(
              (want.fees as { base: number }).base,
              10,
            )
        } else {
          expect(
            {
              reason: got.allowed ? undefined : got.reason,
              details: got.allowed ? undefined : got.details,
            },
            c.name,
          ).toEqual({
            reason: want['reject-reason'],
            details: want['reject-details'],
          })
        }
      }
      const send = c.sendrawtransaction?.body
      if (!send) continue
      try {
        const txid = chain.submit(c.tx_hex)
        expect(send.error ?? null, c.name).toBeNull()
        expect(txid, c.name).toBe(send.result)
      } catch (e) {
        if (!(e instanceof ChainPolicyError)) throw e
        expect({ code: e.code, message: e.message }, c.name).toEqual(send.error)
      }
    }
    // Block 115 of the recording mined exactly what the mempool then held.
    const b115 = blocks[115]!
    expect(chain.submitBlock(b115.block)).toBe(b115.hash)
  })
})
