// The simulated chain's validator and mempool (tests/simulators/world/chain.ts): each script type
// signed right is accepted and signed wrong is refused; RBF, CPFP, maturity, BIP68; reorgs.
import { describe, expect, it } from 'vitest'
import { payments, script as bscript, Transaction } from 'bitcoinjs-lib'
import { Chain, ChainPolicyError } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, type SpendableCoin, TestKey } from '../simulators/world/test-keys'

const alice = TestKey.fromLabel('alice')
const bob = TestKey.fromLabel('bob')
const carol = TestKey.fromLabel('carol')

/** A chain where alice owns one mature coin of each script type (one funding tx, confirmed). */
function world(): { chain: Chain; coins: Record<string, SpendableCoin> } {
  const chain = new Chain()
  const cb = fundedKey(chain, alice)
  const types = ['p2wpkh', 'p2tr', 'p2sh-p2wpkh', 'p2pkh'] as const
  const tx = alice.spend(
    [cb],
    types.map((t) => ({ script: alice.output(t), value: 100_000_000n })),
    2,
  )
  chain.submit(tx)
  chain.mine(1, BURN_SCRIPT)
  const coins: Record<string, SpendableCoin> = {}
  types.forEach((t, i) => {
    coins[t] = { txid: tx.getId(), vout: i, value: 100_000_000n, script: alice.output(t) }
  })
  return { chain, coins }
}

function refusal(chain: Chain, tx: Transaction): string {
  const r = chain.testAccept(tx)
  return r.allowed ? 'allowed' : r.reason
}

describe('simulated chain: signatures per script type', () => {
  for (const type of ['p2wpkh', 'p2tr', 'p2sh-p2wpkh', 'p2pkh'] as const) {
    it(`${type}: right signature accepted; wrong key, wrong sighash and wrong amount refused`, () => {
      const { chain, coins } = world()
      const coin = coins[type]!
      const pay = [{ script: bob.p2wpkh().output, value: 10_000_000n }]
      const good = alice.spend([coin], pay, 1)
      expect(chain.testAccept(good).allowed).toBe(true)

      // Wrong key: carol signs alice's coin (same scripts shape, different key).
      const wrongKey = good.clone()
      const forged = new TestKey(carol.privateKey)
      const fakePrev = [{ script: forged.output(type), value: coin.value }]
      forged.signInput(wrongKey, 0, fakePrev)
      expect(refusal(chain, wrongKey)).toMatch(
        /^mempool-script-verify-flag-failed|scriptsig|mandatory/,
      )

      // Wrong amount committed (segwit and taproot sign the amount; legacy does not).
      const wrongAmount = good.clone()
      alice.signInput(wrongAmount, 0, [{ script: coin.script, value: coin.value + 1n }])
      if (type === 'p2pkh') expect(refusal(chain, wrongAmount)).toBe('allowed')
      else expect(refusal(chain, wrongAmount)).toMatch(/^mempool-script-verify-flag-failed/)

      // Wrong sighash: signed over SIGHASH_NONE but labelled SIGHASH_ALL.
      const wrongHash = good.clone()
      alice.signInput(
        wrongHash,
        0,
        [{ script: coin.script, value: coin.value }],
        Transaction.SIGHASH_NONE,
      )
      if (type === 'p2tr') {
        const w = wrongHash.ins[0]!.witness[0]!
        wrongHash.setWitness(0, [Uint8Array.from([...w.subarray(0, 64), Transaction.SIGHASH_ALL])])
        expect(refusal(chain, wrongHash)).toBe(
          'mempool-script-verify-flag-failed (Invalid Schnorr signature)',
        )
      } else {
        relabel(wrongHash, type)
        expect(refusal(chain, wrongHash)).toBe(
          'mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
        )
      }
      expect(chain.submit(good)).toBe(good.getId())
    })
  }

  for (const sorted of [true, false]) {
    it(`P2WSH 2-of-3 multisig (${sorted ? 'sorted' : 'unsorted'} keys)`, () => {
      const { chain, coins } = world()
      let keys = [alice, bob, carol]
      if (sorted)
        keys = [...keys].sort((a, b) =>
          Buffer.compare(Buffer.from(a.publicKey), Buffer.from(b.publicKey)),
        )
      else keys = [carol, alice, bob]
      const ms = payments.p2ms({ m: 2, pubkeys: keys.map((k) => k.publicKey) })
      const wsh = payments.p2wsh({ redeem: ms })
      const fund = alice.spend([coins['p2wpkh']!], [{ script: wsh.output!, value: 50_000_000n }], 1)
      chain.submit(fund)
      const spend = new Transaction()
      spend.version = 2
      spend.addInput(fund.getHash(), 0, 0xfffffffd)
      spend.addOutput(bob.p2wpkh().output, 49_990_000n)
      const hash = spend.hashForWitnessV0(0, ms.output!, 50_000_000n, Transaction.SIGHASH_ALL)
      const sig = (k: TestKey) => k.der(hash, Transaction.SIGHASH_ALL)
      // Signatures in key order are valid; out of order is refused (CHECKMULTISIG walks keys once).
      const [k0, k1, k2] = keys
      spend.setWitness(0, [new Uint8Array(0), sig(k0!), sig(k2!), ms.output!])
      expect(chain.testAccept(spend).allowed).toBe(true)
      const wrongOrder = spend.clone()
      wrongOrder.setWitness(0, [new Uint8Array(0), sig(k2!), sig(k0!), ms.output!])
      expect(refusal(chain, wrongOrder)).toBe(
        'mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
      )
      const oneSig = spend.clone()
      oneSig.setWitness(0, [new Uint8Array(0), sig(k1!), new Uint8Array(0), ms.output!])
      expect(refusal(chain, oneSig)).toMatch(/^mempool-script-verify-flag-failed/)
      const outsider = spend.clone()
      outsider.setWitness(0, [
        new Uint8Array(0),
        sig(k0!),
        sig(TestKey.fromLabel('mallory')),
        ms.output!,
      ])
      expect(refusal(chain, outsider)).toMatch(/^mempool-script-verify-flag-failed/)
      expect(chain.submit(spend)).toBe(spend.getId())
      chain.mine(1, BURN_SCRIPT)
      expect(chain.getTransaction(spend.getId())?.height).toBe(chain.tip().height)
    })
  }
})

/** Inputs minus outputs, from the chain's coin records (spent coins come from block undo data). */
function feeOf(tx: Transaction, chain: Chain): bigint {
  let inValue = 0n
  for (const i of tx.ins) {
    const prev = chain.getTransaction(Buffer.from(i.hash).reverse().toString('hex'))!.tx
    inValue += prev.outs[i.index]!.value
  }
  return inValue - tx.outs.reduce((a, o) => a + o.value, 0n)
}

/** Replaces the hash-type byte of the input's signature with SIGHASH_ALL. */
function relabel(tx: Transaction, type: string): void {
  const fix = (s: Uint8Array) => Uint8Array.from([...s.subarray(0, -1), Transaction.SIGHASH_ALL])
  if (type === 'p2pkh') {
    const chunks = bscript.decompile(tx.ins[0]!.script)!
    tx.setInputScript(0, bscript.compile([fix(chunks[0] as Uint8Array), chunks[1]!]))
  } else {
    const w = tx.ins[0]!.witness
    tx.setWitness(0, [fix(w[0]!), w[1]!])
  }
}

describe('simulated chain: mempool policy and mining', () => {
  it('coinbase maturity: spendable after 100 confirmations, not before', () => {
    const chain = new Chain()
    const [h] = chain.mine(1, alice.p2wpkh().output)
    const cb = chain.blockAt(h!)!.block.transactions![0]!
    const coin = {
      txid: cb.getId(),
      vout: 0,
      value: cb.outs[0]!.value,
      script: alice.p2wpkh().output,
    }
    chain.mine(98, BURN_SCRIPT)
    const tx = alice.spend([coin], [{ script: bob.p2wpkh().output, value: 1_000_000n }], 1)
    expect(chain.testAccept(tx)).toMatchObject({
      allowed: false,
      reason: 'bad-txns-premature-spend-of-coinbase',
      details: 'bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 99',
    })
    chain.mine(1, BURN_SCRIPT)
    expect(chain.testAccept(tx).allowed).toBe(true)
  })

  it('BIP68 relative lock: refused until the input has enough confirmations', () => {
    const { chain, coins } = world()
    const tx = alice.spend(
      [coins['p2wpkh']!],
      [{ script: bob.p2wpkh().output, value: 1_000_000n }],
      1,
      { sequence: 3 },
    )
    expect(refusal(chain, tx)).toBe('non-BIP68-final')
    chain.mine(1, BURN_SCRIPT)
    expect(refusal(chain, tx)).toBe('non-BIP68-final')
    chain.mine(1, BURN_SCRIPT)
    expect(refusal(chain, tx)).toBe('allowed')
  })

  it('full RBF: a replacement must pay more in total plus the incremental relay fee', () => {
    const { chain, coins } = world()
    const removed: Array<[string, string]> = []
    chain.on('removed', (t: string, r: string) => removed.push([t, r]))
    const pay = [{ script: bob.p2wpkh().output, value: 1_000_000n }]
    const original = alice.spend([coins['p2wpkh']!], pay, 10)
    chain.submit(original)
    const lower = alice.spend([coins['p2wpkh']!], pay, 5)
    expect(() => chain.submit(lower)).toThrow(ChainPolicyError)
    expect(refusal(chain, lower)).toBe('insufficient fee')
    const higher = alice.spend([coins['p2wpkh']!], pay, 20)
    expect(chain.submit(higher)).toBe(higher.getId())
    expect(removed).toEqual([[original.getId(), 'replaced']])
    expect(chain.mempool().map((e) => e.txid)).toEqual([higher.getId()])
  })

  it('CPFP: a child lifts its low-fee parent into the block before a medium-fee tx', () => {
    const { chain, coins } = world()
    const parent = alice.spend(
      [coins['p2wpkh']!],
      [{ script: alice.p2wpkh().output, value: 99_000_000n }],
      1,
    )
    chain.submit(parent)
    const medium = alice.spend(
      [coins['p2tr']!],
      [{ script: bob.p2wpkh().output, value: 1_000_000n }],
      5,
    )
    chain.submit(medium)
    const child = alice.spend(
      [{ txid: parent.getId(), vout: 0, value: 99_000_000n, script: alice.p2wpkh().output }],
      [{ script: carol.p2wpkh().output, value: 1_000_000n }],
      40,
    )
    chain.submit(child)
    expect(chain.mempoolEntry(child.getId())).toMatchObject({
      ancestorCount: 2,
      descendantCount: 1,
    })
    expect(chain.mempoolEntry(parent.getId())).toMatchObject({
      ancestorCount: 1,
      descendantCount: 2,
    })
    expect(chain.blockTemplate().map((e) => e.txid)).toEqual([
      parent.getId(),
      child.getId(),
      medium.getId(),
    ])
    const [h] = chain.mine(1, carol.p2wpkh().output)
    const block = chain.blockAt(h!)!.block
    expect(block.transactions!.map((t) => t.getId()).slice(1)).toEqual([
      parent.getId(),
      child.getId(),
      medium.getId(),
    ])
    expect(block.transactions!.length).toBe(4)
    // The coinbase claims the subsidy plus exactly the three fees.
    const fees = [parent, child, medium].reduce((a, t) => a + feeOf(t, chain), 0n)
    expect(block.transactions![0]!.outs[0]!.value).toBe(50n * 100_000_000n + fees)
    expect(chain.mempool()).toEqual([])
  })

  it('reorg: a confirmed tx goes back to the mempool; a tx spending a vanished coinbase is dropped', () => {
    const { chain, coins } = world()
    const pay = alice.spend(
      [coins['p2wpkh']!],
      [{ script: bob.p2wpkh().output, value: 1_000_000n }],
      2,
    )
    chain.submit(pay)
    const [h1] = chain.mine(1, bob.p2wpkh().output)
    expect(chain.getTransaction(pay.getId())).toMatchObject({
      inMempool: false,
      height: chain.tip().height,
    })
    chain.mine(99, BURN_SCRIPT)
    // bob's coinbase from h1 is now mature; bob spends it.
    const cb = chain.blockAt(h1!)!.block.transactions![0]!
    const bobSpend = bob.spend(
      [{ txid: cb.getId(), vout: 0, value: cb.outs[0]!.value, script: bob.p2wpkh().output }],
      [{ script: carol.p2wpkh().output, value: 1_000_000n }],
      2,
    )
    chain.submit(bobSpend)
    const removed: Array<[string, string]> = []
    chain.on('removed', (t: string, r: string) => removed.push([t, r]))
    const disconnected: number[] = []
    chain.on('disconnect', (_b: unknown, height: number) => disconnected.push(height))
    chain.invalidateBlock(h1!)
    expect(disconnected.length).toBe(100)
    expect(chain.getTransaction(pay.getId())).toMatchObject({ inMempool: true })
    expect(chain.getTransaction(bobSpend.getId())).toBeUndefined()
    expect(removed).toEqual([[bobSpend.getId(), 'reorg']])
    // The replacement chain confirms the payment again.
    chain.mine(1, BURN_SCRIPT)
    expect(chain.getTransaction(pay.getId())).toMatchObject({ inMempool: false })
  })

  it('estimatesmartfee has no answer on a fresh chain (Insufficient data), one after tracked confirmations', () => {
    const { chain, coins } = world()
    expect(chain.estimateFee(6)).toBeUndefined()
    let coin = coins['p2wpkh']!
    for (let i = 0; i < 8; i++) {
      const tx = alice.spend([coin], [], 5)
      chain.submit(tx)
      chain.mine(1, BURN_SCRIPT)
      coin = { txid: tx.getId(), vout: 0, value: tx.outs[0]!.value, script: alice.p2wpkh().output }
    }
    chain.mine(4, BURN_SCRIPT)
    const est = chain.estimateFee(6)
    expect(est?.blocks).toBe(6)
    // Every tracked tx (the 2 sat/vB funding, the 5 sat/vB spends) confirmed in the next block.
    expect(est!.feeRate).toBeCloseTo(2, 1)
    expect(chain.estimateFee(1)?.blocks).toBe(2)
  })
})

describe('simulated chain: events and the mining timer', () => {
  it('emits tx, block and removed events, and mines on a timer until stopped', async () => {
    const { chain, coins } = world()
    const events: string[] = []
    chain.on('tx', (tx: Transaction) => events.push(`tx ${tx.getId()}`))
    chain.on('block', (_b: unknown, height: number) => events.push(`block ${height}`))
    chain.on('removed', (txid: string, reason: string) => events.push(`removed ${txid} ${reason}`))
    const pay = alice.spend(
      [coins['p2wpkh']!],
      [{ script: bob.p2wpkh().output, value: 1_000_000n }],
      2,
    )
    chain.submit(pay)
    const start = chain.tip().height
    chain.startMining(20, BURN_SCRIPT)
    try {
      await expect
        .poll(() => chain.tip().height, { timeout: 5_000, interval: 10 })
        .toBeGreaterThanOrEqual(start + 2)
    } finally {
      chain.stopMining()
    }
    const stopped = chain.tip().height
    await new Promise((r) => setTimeout(r, 80))
    expect(chain.tip().height).toBe(stopped)
    expect(events.slice(0, 3)).toEqual([
      `tx ${pay.getId()}`,
      `removed ${pay.getId()} block`,
      `block ${start + 1}`,
    ])
    expect(chain.getTransaction(pay.getId())?.height).toBe(start + 1)
  })
})
