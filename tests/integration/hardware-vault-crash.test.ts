// The vault spend saga when the box dies in the middle of a broadcast. A child process opens the
// box and broadcasts a signed spend; its call to the node never returns (after the node took the
// transaction, or before it got it) and the child is SIGKILLed there. A new box starts on the same
// data folder: the spend was written `broadcasting` before the node was called, and the new box
// settles it from its node's mempool and its own chain view — `broadcast` (then `seen`) if the
// node has it, back to `signed` (the same transaction, kept) if not, which the owner then
// broadcasts. The signed transaction is never lost and never sent as a second payment.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestKey } from '../simulators/world/test-keys'
import { WALLET_RPC_PASSWORD, WALLET_RPC_USER } from './wallet-harness'
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

/**
 * Broadcasts spend `spendId` in a child process and SIGKILLs it once its node call is under way
 * (MODE=after: the node has the transaction; before: it never got it).
 */
async function broadcastAndDie(spendId: string, mode: 'after' | 'before'): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/integration/vault-crash-child.ts'],
    {
      env: {
        ...process.env,
        DATA_DIR: w.dir,
        ELECTRUM_PORT: String(w.world.electrs.electrumPort),
        RPC_URL: w.world.bitcoind.url,
        RPC_USER: WALLET_RPC_USER,
        RPC_PASSWORD: WALLET_RPC_PASSWORD,
        SPEND_ID: spendId,
        MODE: mode,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const exited = new Promise<string | null>((resolve) =>
    child.on('exit', (_c, sig) => resolve(sig)),
  )
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'in the call') {
        child.kill('SIGKILL')
        break
      }
      throw new Error(`the child said: ${line}`)
    }
    expect(await exited).toBe('SIGKILL')
  } finally {
    clearTimeout(timer)
    child.kill('SIGKILL')
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

/** The spend's state as the dead box left it on disk. */
function stateOnDisk(id: string): string {
  const db = new DatabaseSync(join(w.dir, 'hardware', 'vaults.sqlite'), { readOnly: true })
  try {
    return (db.prepare('SELECT state FROM spends WHERE id = ?').get(id) as { state: string }).state
  } finally {
    db.close()
  }
}

const spendState = async (box: VaultBox, id: string) =>
  (await box.call('vaultSpends', { vaultId })).find((s) => s.id === id)

describe('a crash in the middle of a vault broadcast', () => {
  it('after the node took it: the new box finds it in the mempool (broadcast, then seen)', async () => {
    const box = await w.startBox()
    const signed = await signedSpend(box, 350_000)
    await box.stop()
    await broadcastAndDie(signed.id, 'after')
    expect(stateOnDisk(signed.id)).toBe('broadcasting')
    // The child died with its call unanswered; the node has the transaction.
    expect(w.world.chain.mempoolEntry(signed.txid!)).toBeDefined()

    const again = await w.startBox()
    await until(
      async () => (await spendState(again, signed.id))?.state === 'seen',
      'the spend settled as sent and seen',
    )
    // One transaction in the mempool spends the coin: the same one, sent once.
    expect(w.world.chain.mempool().filter((e) => e.txid === signed.txid)).toHaveLength(1)
    w.world.mine(1)
    await again.stop()
  }, 90_000)

  it('before the node got it: the new box keeps it signed, and the owner broadcasts it', async () => {
    const box = await w.startBox()
    const signed = await signedSpend(box, 150_000)
    await box.stop()
    await broadcastAndDie(signed.id, 'before')
    expect(stateOnDisk(signed.id)).toBe('broadcasting')
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
  }, 90_000)
})
