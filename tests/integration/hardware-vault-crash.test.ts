// The vault spend saga when the box stops in the middle of a broadcast. The box's call to its node
// never returns (the node took the transaction, or never got it), the box is stopped there, and a
// new box starts on the same data folder, as after a crash: the spend was written `broadcasting`
// before the node was called, and the new box settles it from its node's mempool and its own
// chain view — `broadcast` (then `seen`) if the node has it, back to `signed` (the same
// transaction, kept) if not, which the owner then broadcasts. The signed transaction is never lost
// and never sent as a second payment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SendNode } from '../../src/core/wallet/send/send-service'
import { TestKey } from '../simulators/world/test-keys'
import {
  makeVault,
  startVaultWorld,
  until,
  type VaultBox,
  type VaultWorld,
} from './vault-chain-harness'

let w: VaultWorld
let vaultId: string
let vault: Awaited<ReturnType<typeof makeVault>>['vault']
const BOB = TestKey.fromLabel('vault-crash-bob').p2wpkh().address

/** The world's node, except that sendRawTransaction never returns (after passing it on, or not). */
function stuckNode(passOn: boolean): SendNode {
  return {
    sendRawTransaction: async (hex) => {
      if (passOn) await w.rpc.sendRawTransaction(hex)
      return new Promise<string>(() => undefined)
    },
    getBlockCount: () => w.rpc.getBlockCount(),
    getMempoolEntry: (txid) => w.rpc.getMempoolEntry(txid),
  }
}

beforeAll(async () => {
  w = await startVaultWorld()
  const box = await w.startBox()
  ;({ vault, id: vaultId } = await makeVault(w, box))
  const v = (await box.call('vaults', {}))[0]!
  w.world.pay(v.receive!.address, 400_000)
  w.world.pay((await box.call('vaultReceive', { vaultId })).address, 300_000)
  w.world.mine(1)
  await until(
    async () => (await box.call('vaults', {}))[0]!.balance.confirmedSat === 700_000,
    'the deposits confirmed',
  )
  await box.stop()
}, 120_000)
afterAll(async () => {
  await w?.close()
})

/** A spend signed by the HSM and the backup words, ready to broadcast. */
async function signedSpend(box: VaultBox, amountSat: number) {
  // A box just started spends once its sync has been round the vault's addresses.
  await until(
    async () =>
      (await box.call('vaults', {}))[0]!.coins.some((c) => c.confirmations > 0 && !c.held),
    'the vault synced',
  )
  const spend = await box.call('vaultSpendPrepare', { vaultId, to: BOB, amountSat, feeRate: 2 })
  const byHsm = await box.call('hsmSignPsbt', { psbt: spend.psbt, vault })
  const byWords = await w.backup.signPsbt(spend.psbt, { ...vault, network: 'regtest' })
  return box.call('vaultSpendFinalize', { spendId: spend.id, psbts: [byHsm.psbt, byWords.psbt] })
}

const spendState = async (box: VaultBox, id: string) =>
  (await box.call('vaultSpends', { vaultId })).find((s) => s.id === id)

describe('a crash in the middle of a vault broadcast', () => {
  it('after the node took it: the new box finds it in the mempool (broadcast, then seen)', async () => {
    const box = await w.startBox(stuckNode(true))
    const signed = await signedSpend(box, 350_000)
    void box.call('vaultSpendBroadcast', { spendId: signed.id }).catch(() => undefined)
    await until(async () => w.world.chain.mempoolEntry(signed.txid!), 'the node to take it')
    expect((await spendState(box, signed.id))?.state).toBe('broadcasting')
    await box.stop() // the box dies here: the broadcast call never returned

    const again = await w.startBox()
    await until(
      async () => (await spendState(again, signed.id))?.state === 'seen',
      'the spend settled as sent and seen',
    )
    // One transaction in the mempool spends the coin: the same one, sent once.
    expect(w.world.chain.mempool().filter((e) => e.txid === signed.txid)).toHaveLength(1)
    w.world.mine(1)
    await again.stop()
  })

  it('before the node got it: the new box keeps it signed, and the owner broadcasts it', async () => {
    const box = await w.startBox(stuckNode(false))
    const signed = await signedSpend(box, 150_000)
    void box.call('vaultSpendBroadcast', { spendId: signed.id }).catch(() => undefined)
    await until(
      async () => (await spendState(box, signed.id))?.state === 'broadcasting' && true,
      'the spend written as broadcasting',
    )
    await box.stop()
    expect(w.world.chain.mempoolEntry(signed.txid!)).toBeUndefined()

    const again = await w.startBox()
    const kept = await until(async () => {
      const s = await spendState(again, signed.id)
      return s?.state === 'signed' && s
    }, 'the spend back to signed')
    // The very transaction that was signed before the crash is kept.
    expect(kept.hex).toBe(signed.hex)
    expect(kept.txid).toBe(signed.txid)
    // Its coin stays held: a new spend does not pick it.
    const coins = (await again.call('vaults', {}))[0]!.coins
    expect(coins.filter((c) => c.held).map((c) => c.outpoint)).toEqual(
      signed.coins.map((c) => c.outpoint),
    )
    const sent = await again.call('vaultSpendBroadcast', { spendId: signed.id })
    expect(sent.state).toBe('broadcast')
    expect(w.world.chain.mempoolEntry(signed.txid!)).toBeDefined()
    // Broadcasting again is the same transaction, never a second payment.
    const twice = await again.call('vaultSpendBroadcast', { spendId: signed.id })
    expect(twice.txid).toBe(signed.txid)
    await again.stop()
  })
})
