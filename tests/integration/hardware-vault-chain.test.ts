// 2-of-3 cold storage end to end on the regtest world: a vault of an emulated Trezor, a real
// SoftHSM2 key and backup words is kept by the box and followed through its Electrum sync. The box
// sees each deposit by itself (unconfirmed, then confirmed once its Merkle proof checks out);
// a spend picks from those coins; the HSM's signature alone is refused; the HSM and the Trezor
// sign; the owner's review shows every output, the change, the fee and the fee rate; the box
// broadcasts through its node, the world's validator accepts it, and the sync sees it. A spend of
// coins already spent (offline fallback, pasted funding transaction) is refused by the node in
// words, and a tampered signature never reaches the node.
import { Psbt } from 'bitcoinjs-lib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestKey } from '../simulators/world/test-keys'
import {
  makeVault,
  startVaultWorld,
  TREZOR_ID,
  until,
  type VaultBox,
  type VaultWorld,
} from './vault-chain-harness'

let w: VaultWorld
let box: VaultBox
let vaultId: string
let vault: Awaited<ReturnType<typeof makeVault>>['vault']
const BOB = TestKey.fromLabel('vault-chain-bob').p2wpkh().address

beforeAll(async () => {
  w = await startVaultWorld()
  box = await w.startBox()
  ;({ vault, id: vaultId } = await makeVault(w, box))
}, 120_000)
afterAll(async () => {
  await w?.close()
})

const saved = async () => (await box.call('vaults', {})).find((v) => v.id === vaultId)!

describe('a 2-of-3 vault the box follows on chain', () => {
  let firstDepositHex: string

  it('sees deposits by itself: unconfirmed, then confirmed with its Merkle proof', async () => {
    const v = await saved()
    expect(v.receive?.index).toBe(0)
    expect(v.receive?.address).toBe(v.firstAddresses[0])
    firstDepositHex = w.world.pay(v.receive!.address, 600_000).toHex()
    const second = await box.call('vaultReceive', { vaultId })
    expect(second.index).toBe(1)
    w.world.pay(second.address, 700_000)
    const seen = await until(async () => {
      const s = await saved()
      return s.balance.unconfirmedSat === 1_300_000 && s
    }, 'the deposits in the mempool')
    expect(seen.balance.confirmedSat).toBe(0)
    expect(seen.history.map((t) => t.status)).toEqual(['unconfirmed', 'unconfirmed'])
    // Nothing confirmed yet: no spend.
    await expect(
      box.call('vaultSpendPrepare', { vaultId, to: BOB, amountSat: 100_000, feeRate: 2 }),
    ).rejects.toMatchObject({ code: 'vault.no_confirmed_coins' })
    w.world.mine(1)
    const confirmed = await until(async () => {
      const s = await saved()
      return s.balance.confirmedSat === 1_300_000 && s
    }, 'the deposits confirmed')
    expect(confirmed.coins.map((c) => [c.valueSat, c.chain, c.index, c.confirmations])).toEqual([
      [700_000, 0, 1, 1],
      [600_000, 0, 0, 1],
    ])
    expect(confirmed.sync.state).toBe('ready')
  })

  it('spends with two of three after review; the node takes it and the world accepts it', async () => {
    const review = await box.call('vaultSpendPrepare', {
      vaultId,
      to: BOB,
      amountSat: 500_000,
      feeRate: 2,
    })
    expect(review.state).toBe('unsigned')
    expect(review.offline).toBe(false)
    // Largest coin first: one coin covers it.
    expect(review.coins.map((c) => c.valueSat)).toEqual([700_000])
    expect(review.outputs.map((o) => [o.address, o.change])).toEqual([
      [BOB, false],
      [expect.stringMatching(/^bcrt1q/), true],
    ])

    // The HSM's signature alone: refused, and there is nothing to broadcast.
    const byHsm = await box.call('hsmSignPsbt', { psbt: review.psbt, vault })
    expect(byHsm.signedInputs).toEqual([0])
    await expect(
      box.call('vaultSpendFinalize', { spendId: review.id, psbts: [byHsm.psbt] }),
    ).rejects.toMatchObject({ code: 'psbt.needs_signatures' })
    await expect(box.call('vaultSpendBroadcast', { spendId: review.id })).rejects.toMatchObject({
      code: 'vault.not_signed',
    })

    const byTrezor = await box.call('deviceSignPsbt', {
      deviceId: TREZOR_ID,
      psbt: review.psbt,
      vault,
    })
    // A signature changed after signing never verifies: refused, never broadcast.
    const tampered = Psbt.fromBase64(byTrezor.psbt)
    const sig = Uint8Array.from(tampered.data.inputs[0]!.partialSig![0]!.signature)
    sig[10] = sig[10]! ^ 1
    tampered.data.inputs[0]!.partialSig![0]!.signature = sig
    await expect(
      box.call('vaultSpendFinalize', {
        spendId: review.id,
        psbts: [byHsm.psbt, tampered.toBase64()],
      }),
    ).rejects.toMatchObject({ code: 'psbt.bad_signature' })

    const signed = await box.call('vaultSpendFinalize', {
      spendId: review.id,
      psbts: [byHsm.psbt, byTrezor.psbt],
    })
    expect(signed.state).toBe('signed')
    // Nothing was sent before the owner confirms.
    expect(w.world.chain.mempoolEntry(signed.txid!)).toBeUndefined()
    // The review: every output, the change, the exact fee and fee rate of the final transaction.
    const outSum = signed.outputs.reduce((s, o) => s + o.valueSat, 0)
    expect(signed.feeSat).toBe(700_000 - outSum)
    expect(signed.outputs[1]!.valueSat).toBe(700_000 - 500_000 - signed.feeSat)
    expect(signed.feeRate).toBeCloseTo(signed.feeSat / signed.vsize, 2)
    expect(signed.feeRate).toBeGreaterThanOrEqual(1.9)
    expect(w.world.chain.testAccept(signed.hex!).allowed).toBe(true)
    // Its coin is held: a new spend does not pick it.
    const other = await box.call('vaultSpendPrepare', {
      vaultId,
      to: BOB,
      amountSat: 100_000,
      feeRate: 2,
    })
    expect(other.coins.map((c) => c.valueSat)).toEqual([600_000])
    await box.call('vaultSpendDiscard', { spendId: other.id })

    const sent = await box.call('vaultSpendBroadcast', { spendId: review.id })
    expect(sent.state).toBe('broadcast')
    expect(w.world.chain.mempoolEntry(signed.txid!)).toBeDefined()
    await until(
      async () =>
        (await box.call('vaultSpends', { vaultId })).find((s) => s.id === review.id)?.state ===
        'seen',
      'the spend seen by the sync',
    )
    w.world.mine(1)
    const after = await until(async () => {
      const s = await saved()
      return s.history.find((t) => t.txid === signed.txid)?.status === 'confirmed' && s
    }, 'the spend confirmed')
    expect(after.balance.confirmedSat).toBe(1_300_000 - 500_000 - signed.feeSat)
    expect(after.history.find((t) => t.txid === signed.txid)!.netSat).toBe(-500_000 - signed.feeSat)
  })

  it('a spend of coins already spent is refused by the node in words (offline fallback)', async () => {
    // Spend the 600 000 sat coin for real first.
    const a = await box.call('vaultSpendPrepare', {
      vaultId,
      to: BOB,
      amountSat: 550_000,
      feeRate: 2,
    })
    const b = await box.call('vaultSpendPrepare', {
      vaultId,
      to: BOB,
      amountSat: 540_000,
      feeRate: 2,
      fundingTxs: [firstDepositHex],
    })
    expect(b.offline).toBe(true)
    for (const spend of [a, b]) {
      const h = await box.call('hsmSignPsbt', { psbt: spend.psbt, vault })
      const t = await w.backup.signPsbt(spend.psbt, { ...vault, network: 'regtest' })
      await box.call('vaultSpendFinalize', { spendId: spend.id, psbts: [h.psbt, t.psbt] })
    }
    await box.call('vaultSpendBroadcast', { spendId: a.id })
    w.world.mine(1)
    await expect(box.call('vaultSpendBroadcast', { spendId: b.id })).rejects.toMatchObject({
      code: 'wallet.broadcast-refused',
      message: expect.stringMatching(/one of its coins is already spent/),
    })
    const refused = (await box.call('vaultSpends', { vaultId })).find((s) => s.id === b.id)!
    expect(refused.state).toBe('refused')
    expect(refused.failure).toMatch(/Your Bitcoin node refused the transaction/)
  })
})
