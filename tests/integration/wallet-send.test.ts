// The wallet's send side on the regtest world (issue 11 items 4 and 7): real BIP143/BIP341
// signatures checked by the simulated chain, real v31 mempool policy (RBF rules and the feerate
// diagram, CPFP packages, dust, min relay), broadcast over bitcoind's JSON-RPC.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Psbt, Transaction } from 'bitcoinjs-lib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { nodeFeeEstimator } from '../../src/core/wallet/send/fee-rates'
import { SendService } from '../../src/core/wallet/send/send-service'
import { SendStore } from '../../src/core/wallet/send/send-saga'
import { buildPsbt, signPsbt, toV2 } from '../../src/core/wallet/send/psbt'
import { broadcast } from '../../src/core/wallet/send/broadcast'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { Chain, REGTEST } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, TestKey } from '../simulators/world/test-keys'
import { ChainWallet } from './wallet/chain-wallet'

const alice = TestKey.fromLabel('wallet-send-alice')
const bob = TestKey.fromLabel('wallet-send-bob')
const BOB = bob.p2wpkh().address

let sim: BitcoindSimulator
let chain: Chain
let rpc: BitcoindRpc
let dir: string
const stores: SendStore[] = []

function service(
  wallet: ChainWallet,
  file: string,
  node = rpc as ConstructorParameters<typeof SendService>[0]['node'],
) {
  const store = new SendStore(join(dir, file))
  stores.push(store)
  return new SendService({ wallet, node, fees: nodeFeeEstimator(rpc), store })
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string }
  }
  throw new Error('not refused')
}

/** Pays `values` (sat) from alice to the given scripts in one confirmed transaction. */
let aliceCoin: { txid: string; vout: number; value: bigint; script: Uint8Array }
function fund(scripts: Uint8Array[], values: number[], confirm = true): string {
  const outs = scripts.map((script, i) => ({ script, value: BigInt(values[i]!) }))
  const total = outs.reduce((s, o) => s + o.value, 0n)
  const change = aliceCoin.value - total - 5_000n
  const tx = alice.spend(
    [aliceCoin],
    [...outs, { script: alice.p2wpkh().output, value: change }],
    2,
  )
  chain.submit(tx)
  aliceCoin = { txid: tx.getId(), vout: outs.length, value: change, script: alice.p2wpkh().output }
  if (confirm) chain.mine(1, BURN_SCRIPT)
  return tx.getId()
}
const script = (w: ChainWallet, account: string, i: number) =>
  Uint8Array.from(Buffer.from(w.receiveAddress(account, i).scriptPubKey, 'hex'))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wallet-send-'))
  chain = new Chain()
  sim = await startBitcoindSimulator({
    rpcauth: [makeRpcauth('u', 'p', '00112233445566778899aabbccddeeff')],
    chain,
    log: () => undefined,
  })
  rpc = new BitcoindRpc({ url: sim.url, user: 'u', password: 'p' })
  aliceCoin = fundedKey(chain, alice)
})
afterAll(async () => {
  for (const s of stores) s.close()
  await sim?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('send from a seed wallet', () => {
  it('pays with change, a batch, then send-max; the chain accepts each signature', async () => {
    const w = new ChainWallet(chain, 'seed-a', [{ id: 'main', kind: 'wpkh' }])
    const s = service(w, 'a.db')
    fund(
      [script(w, 'main', 0), script(w, 'main', 1), script(w, 'main', 2)],
      [1_000_000, 2_000_000, 500_000],
    )

    const review = await s.prepareSend({
      accountId: 'main',
      recipients: [{ address: BOB, amountSat: 300_000 }],
      feeRateSatPerVb: 2,
    })
    expect(review.state).toBe('reviewed')
    expect(review.outputs.filter((o) => o.change)).toHaveLength(1)
    expect(review.amountSat).toBe(300_000)
    expect(review.rbf).toBe(true)
    expect(review.feeSat).toBe(
      review.inputs.reduce((a, i) => a + i.valueSat, 0) - 300_000 - review.changeSat,
    )
    // Nothing is sent by preparing.
    expect(chain.mempool()).toHaveLength(0)
    expect((await refusal(s.confirm({ reviewId: review.id, password: 'wrong' }))).code).toBe(
      'wallet.wrong_password',
    )

    const sent = await s.confirm({ reviewId: review.id, password: w.password })
    expect(sent.state).toBe('broadcast')
    const entry = chain.mempoolEntry(sent.txid!)!
    expect(Number(entry.fee)).toBe(review.feeSat)
    expect(entry.vsize).toBeLessThanOrEqual(review.vsize)
    expect(Number(entry.fee) / entry.vsize).toBeGreaterThanOrEqual(2)
    expect(entry.tx.ins.every((i) => i.sequence === 0xfffffffd)).toBe(true)
    // A review is used once.
    expect(await refusal(s.confirm({ reviewId: review.id, password: w.password }))).toBeDefined()
    chain.mine(1, BURN_SCRIPT)
    await s.reconcile()
    expect(s.get(review.id).state).toBe('seen')

    const batch = await s.prepareSend({
      accountId: 'main',
      recipients: [
        { address: BOB, amountSat: 100_000 },
        { address: alice.p2tr().address, amountSat: 150_000 },
        { address: alice.p2pkh().address, amountSat: 50_000 },
      ],
      feeRateSatPerVb: 1.5,
    })
    expect(batch.outputs.filter((o) => !o.change).map((o) => o.amountSat)).toEqual([
      100_000, 150_000, 50_000,
    ])
    const batchSent = await s.confirm({ reviewId: batch.id, password: w.password })
    expect(chain.mempoolEntry(batchSent.txid!)).toBeDefined()
    chain.mine(1, BURN_SCRIPT)

    const balance = w.coins('main').reduce((a, c) => a + c.valueSat, 0)
    const max = await s.prepareSend({
      accountId: 'main',
      recipients: [{ address: BOB, max: true }],
      feeRateSatPerVb: 1,
    })
    expect(max.changeSat).toBe(0)
    expect(max.amountSat + max.feeSat).toBe(balance)
    const maxSent = await s.confirm({ reviewId: max.id, password: w.password })
    expect(Number(chain.mempoolEntry(maxSent.txid!)!.fee)).toBe(max.feeSat)
    chain.mine(1, BURN_SCRIPT)
    expect(w.coins('main')).toHaveLength(0)
  })

  it('spends taproot (BIP86) coins with a Schnorr key-path signature; coin control and frozen coins', async () => {
    const w = new ChainWallet(chain, 'seed-tr', [{ id: 'tap', kind: 'tr' }])
    const s = service(w, 'tr.db')
    fund(
      [script(w, 'tap', 0), script(w, 'tap', 1), script(w, 'tap', 2)],
      [400_000, 600_000, 800_000],
    )
    const coins = w.coins('tap')
    const small = coins.find((c) => c.valueSat === 400_000)!
    const big = coins.find((c) => c.valueSat === 800_000)!
    w.frozen.add(big.outpoint)
    expect(
      (
        await refusal(
          s.prepareSend({
            accountId: 'tap',
            recipients: [{ address: BOB, amountSat: 10_000 }],
            feeRateSatPerVb: 1,
            coins: [big.outpoint],
          }),
        )
      ).message,
    ).toMatch(/is frozen/)
    // Without coin control a frozen coin is never picked: 1,300,000 needs all but the frozen one.
    const r = await s.prepareSend({
      accountId: 'tap',
      recipients: [{ address: BOB, amountSat: 900_000 }],
      feeRateSatPerVb: 1,
    })
    expect(r.inputs.map((i) => i.outpoint)).not.toContain(big.outpoint)
    await s.discard({ reviewId: r.id })
    const picked = await s.prepareSend({
      accountId: 'tap',
      recipients: [{ address: BOB, amountSat: 100_000 }],
      feeRateSatPerVb: 1,
      coins: [small.outpoint],
    })
    expect(picked.inputs.map((i) => i.outpoint)).toEqual([small.outpoint])
    const psbt = Psbt.fromBase64(picked.psbt)
    expect(psbt.data.inputs[0]!.tapBip32Derivation![0]!.path).toBe("m/86'/1'/0'/0/0")
    expect(psbt.data.outputs.find((o) => o.tapInternalKey)).toBeDefined()
    const sent = await s.confirm({ reviewId: picked.id, password: w.password })
    expect(chain.mempoolEntry(sent.txid!)!.tx.ins[0]!.witness[0]!.length).toBe(64)
    chain.mine(1, BURN_SCRIPT)
  })
})

describe('fee bumping', () => {
  it('RBF: too low refused in words, enough accepted by v31 policy; a hand-made cheap replacement refused by the node in words', async () => {
    const w = new ChainWallet(chain, 'seed-rbf', [{ id: 'main', kind: 'wpkh' }])
    const s = service(w, 'rbf.db')
    fund([script(w, 'main', 0), script(w, 'main', 1)], [1_000_000, 300_000])
    const first = await s.confirm({
      reviewId: (
        await s.prepareSend({
          accountId: 'main',
          recipients: [{ address: BOB, amountSat: 200_000 }],
          feeRateSatPerVb: 1,
        })
      ).id,
      password: w.password,
    })
    const old = chain.mempoolEntry(first.txid!)!

    const low = await refusal(
      s.prepareBump({ accountId: 'main', txid: first.txid!, feeRateSatPerVb: 1 }),
    )
    expect(low.code).toBe('wallet.bump-too-low')
    expect(low.message).toMatch(
      /^To replace it, the new transaction must pay at least \d[\d,]* sat/,
    )

    // The node's own refusal, in words: same coins, one sat more fee than the original.
    const tx = Transaction.fromHex(old.tx.toHex())
    const psbtAgain = Psbt.fromBase64(first.psbt)
    const cheap = buildPsbt({
      network: REGTEST,
      inputs: psbtAgain.txInputs.map((inp, i) => {
        const txid = Buffer.from(inp.hash).reverse().toString('hex')
        const coinScript = psbtAgain.data.inputs[i]!.witnessUtxo!.script
        const a = w.addressForScript('main', Buffer.from(coinScript).toString('hex'))!
        return {
          coin: {
            txid,
            vout: inp.index,
            valueSat: Number(psbtAgain.data.inputs[i]!.witnessUtxo!.value),
            scriptPubKey: a.scriptPubKey,
            derivation: a.derivation,
          },
        }
      }),
      outputs: tx.outs.map((o, i) => ({
        script: o.script,
        amountSat: Number(o.value) - (i === tx.outs.length - 1 ? 1 : 0),
        change: false,
      })),
    })
    signPsbt(cheap, w.master)
    cheap.finalizeAllInputs()
    const cheapTx = cheap.extractTransaction()
    const nodeSaid = await refusal(broadcast(rpc, cheapTx.toHex(), cheapTx.getId()))
    expect(nodeSaid.code).toBe('wallet.broadcast-refused')
    expect(nodeSaid.message).toMatch(
      /^Your Bitcoin node refused the transaction: it does not pay enough to replace/,
    )

    const bump = await s.prepareBump({ accountId: 'main', txid: first.txid!, feeRateSatPerVb: 5 })
    expect(bump.kind).toBe('bump')
    expect(bump.replaces).toBe(first.txid)
    expect(bump.outputs.find((o) => !o.change)!.amountSat).toBe(200_000)
    const bumped = await s.confirm({ reviewId: bump.id, password: w.password })
    expect(chain.mempoolEntry(first.txid!)).toBeUndefined()
    const repl = chain.mempoolEntry(bumped.txid!)!
    expect(Number(repl.fee)).toBeGreaterThan(Number(old.fee))
    expect(Number(repl.fee) / repl.vsize).toBeGreaterThanOrEqual(5)
    chain.mine(1, BURN_SCRIPT)
  })

  it('CPFP: a slow incoming payment sped up by a child; the package pays the chosen rate', async () => {
    const w = new ChainWallet(chain, 'seed-cpfp', [{ id: 'main', kind: 'wpkh' }])
    const s = service(w, 'cpfp.db')
    // alice pays us at about 0.2 sat/vB and it sits unconfirmed.
    const parent = alice.spend(
      [aliceCoin],
      [{ script: script(w, 'main', 0), value: 500_000n }],
      0.2,
    )
    chain.submit(parent)
    aliceCoin = {
      txid: parent.getId(),
      vout: 1,
      value: parent.outs[1]!.value,
      script: alice.p2wpkh().output,
    }
    const pEntry = chain.mempoolEntry(parent.getId())!

    expect(
      (
        await refusal(
          s.prepareBump({ accountId: 'main', txid: parent.getId(), feeRateSatPerVb: 5 }),
        )
      ).code,
    ).toBe('wallet.bump-not-ours')
    const cpfp = await s.prepareCpfp({
      accountId: 'main',
      txid: parent.getId(),
      feeRateSatPerVb: 10,
    })
    expect(cpfp.parentTxid).toBe(parent.getId())
    expect(cpfp.packageFeeRateSatPerVb).toBeGreaterThanOrEqual(10)
    const child = await s.confirm({ reviewId: cpfp.id, password: w.password })
    const cEntry = chain.mempoolEntry(child.txid!)!
    expect(cEntry.ancestorFees).toBe(pEntry.fee + cEntry.fee)
    expect(Number(cEntry.ancestorFees) / cEntry.ancestorSize).toBeGreaterThanOrEqual(10)
    chain.mine(1, BURN_SCRIPT)
    expect(chain.mempoolEntry(parent.getId())).toBeUndefined()
    expect(w.transaction('main', child.txid!)!.status).toBe('confirmed')
  })
})

describe('watch-only wallet and an external signer', () => {
  it('builds a PSBT, a separate bitcoinjs signer signs it (as BIP370 v2 too), the box finalizes and broadcasts', async () => {
    const watch = new ChainWallet(chain, 'seed-hw', [{ id: 'cold', kind: 'wpkh', watchOnly: true }])
    const s = service(watch, 'watch.db')
    fund([script(watch, 'cold', 0), script(watch, 'cold', 1)], [700_000, 700_000])
    const review = await s.prepareSend({
      accountId: 'cold',
      recipients: [{ address: BOB, amountSat: 900_000 }],
      feeRateSatPerVb: 2,
    })
    expect(review.canSign).toBe(false)
    expect((await refusal(s.confirm({ reviewId: review.id }))).code).toBe('wallet.psbt-not-signed')

    // The separate signer: only the PSBT crosses over.
    const signer = Psbt.fromBase64(review.psbt, { network: REGTEST })
    expect(
      signer.data.inputs.every((i) => i.bip32Derivation?.[0]?.path.startsWith("m/84'/1'/0'/0/")),
    ).toBe(true)
    expect(signer.data.inputs.every((i) => i.nonWitnessUtxo && i.witnessUtxo)).toBe(true)
    signer.signAllInputsHD(watch.master)
    const v2 = Buffer.from(toV2(signer)).toString('base64')
    const imported = await s.importPsbt({ accountId: 'cold', psbt: v2 })
    expect(imported.id).toBe(review.id)
    expect(imported.signatures).toEqual({ have: 2, need: 2 })
    const sent = await s.confirm({ reviewId: imported.id })
    expect(sent.state).toBe('broadcast')
    expect(chain.mempoolEntry(sent.txid!)).toBeDefined()
    chain.mine(1, BURN_SCRIPT)
  })
})

describe('bad input, in words', () => {
  it('refuses each with its own sentence', async () => {
    const w = new ChainWallet(chain, 'seed-bad', [{ id: 'main', kind: 'wpkh' }])
    const s = service(w, 'bad.db')
    fund([script(w, 'main', 0)], [100_000])
    const send = (
      recipients: { address: string; amountSat?: number; max?: boolean }[],
      feeRateSatPerVb = 1,
    ) => refusal(s.prepareSend({ accountId: 'main', recipients, feeRateSatPerVb }))
    const main = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'
    expect((await send([{ address: main, amountSat: 10_000 }])).message).toMatch(
      /is a mainnet address, but this box runs on regtest/,
    )
    const typo = BOB.slice(0, -1) + (BOB.endsWith('q') ? 'p' : 'q')
    expect((await send([{ address: typo, amountSat: 10_000 }])).message).toMatch(
      /has a typo: its checksum does not match/,
    )
    expect((await send([{ address: BOB, amountSat: 200_000 }])).message).toBe(
      'You asked to send 200,000 sat, but the wallet can spend 100,000 sat.',
    )
    expect((await send([{ address: BOB, amountSat: 100 }])).message).toMatch(
      /^100 sat to .* is below 294 sat/,
    )
    expect((await send([{ address: BOB, amountSat: 10_000 }], 0.05)).message).toMatch(
      /^A fee rate of 0.05 sat\/vB is below 0.1 sat\/vB, the lowest rate your Bitcoin node relays/,
    )
    const high = await s.prepareSend({
      accountId: 'main',
      recipients: [{ address: BOB, amountSat: 10_000 }],
      feeRateSatPerVb: 300,
    })
    expect(high.needsFeeConfirmation).toBe(true)
    expect((await refusal(s.confirm({ reviewId: high.id, password: w.password }))).message).toMatch(
      /is unusually high/,
    )
    await s.discard({ reviewId: high.id })

    // A PSBT spending alice's coin is not this wallet's.
    const foreign = new Psbt({ network: REGTEST })
    foreign.addInput({
      hash: aliceCoin.txid,
      index: aliceCoin.vout,
      witnessUtxo: { script: aliceCoin.script, value: aliceCoin.value },
    })
    foreign.addOutput({ script: bob.p2wpkh().output, value: 10_000n })
    expect(
      (await refusal(s.importPsbt({ accountId: 'main', psbt: foreign.toBase64() }))).message,
    ).toMatch(
      /^This PSBT does not belong to this wallet: 1 of its 1 input spends coins this wallet does not have/,
    )
    // A final PSBT.
    const r = await s.prepareSend({
      accountId: 'main',
      recipients: [{ address: BOB, amountSat: 10_000 }],
      feeRateSatPerVb: 1,
    })
    const fin = Psbt.fromBase64(r.psbt)
    fin.signAllInputsHD(w.master)
    fin.finalizeAllInputs()
    expect(
      (await refusal(s.importPsbt({ accountId: 'main', psbt: fin.toBase64() }))).message,
    ).toMatch(/^This PSBT is already final/)
    expect(
      (await refusal(s.importPsbt({ accountId: 'main', psbt: 'not a psbt' }))).message,
    ).toMatch(/^This is not a PSBT/)
    await s.discard({ reviewId: r.id })
  })
})

describe('a crash between signing and broadcast', () => {
  it('leaves the signed PSBT; after restart the owner broadcasts that same transaction once', async () => {
    const w = new ChainWallet(chain, 'seed-crash', [{ id: 'main', kind: 'wpkh' }])
    fund([script(w, 'main', 0)], [800_000])
    let sendCalls = 0
    const dying = {
      getBlockCount: () => rpc.getBlockCount(),
      getMempoolEntry: (t: string) => rpc.getMempoolEntry(t),
      // The process dies while the transaction is on its way out: this never answers.
      sendRawTransaction: () => {
        sendCalls++
        return new Promise<string>(() => undefined)
      },
    }
    const before = service(w, 'crash.db', dying)
    const review = await before.prepareSend({
      accountId: 'main',
      recipients: [{ address: BOB, amountSat: 100_000 }],
      feeRateSatPerVb: 2,
    })
    void before.confirm({ reviewId: review.id, password: w.password })
    for (let i = 0; i < 100 && sendCalls === 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(sendCalls).toBe(1)
    expect(chain.mempool().length).toBe(0)

    // Restart: a new service on the same database file.
    const after = service(w, 'crash.db')
    await after.reconcile()
    const kept = after.get(review.id)
    expect(kept.state).toBe('signed')
    expect(Psbt.fromBase64(kept.psbt).data.inputs[0]!.finalScriptWitness).toBeDefined()
    // Its coin is held: a new send cannot spend it twice.
    expect(
      (
        await refusal(
          after.prepareSend({
            accountId: 'main',
            recipients: [{ address: BOB, amountSat: 10_000 }],
            feeRateSatPerVb: 1,
          }),
        )
      ).code,
    ).toBe('wallet.amount-over-balance')
    const sent = await after.broadcastSigned({ reviewId: review.id })
    expect(sent.state).toBe('broadcast')
    expect(sent.txid).toBe(kept.txid)
    expect(chain.mempoolEntry(kept.txid!)).toBeDefined()
    // Again: nothing new is sent.
    expect((await after.broadcastSigned({ reviewId: review.id })).txid).toBe(kept.txid)
    expect(chain.mempool().filter((e) => e.txid === kept.txid)).toHaveLength(1)
    chain.mine(1, BURN_SCRIPT)
    await after.reconcile()
    expect(after.get(review.id).state).toBe('seen')
  })
})
