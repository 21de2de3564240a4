// A vault spend as a saga that survives a crash at any step (the shape of the on-chain wallet's
// send saga, src/core/wallet/send/send-saga.ts):
//
//   unsigned (PSBT built, signatures being collected) → signed (every signature checked, the
//   final transaction written BEFORE anything is sent; the owner reviews it) → broadcasting
//   (written before the node is called) → broadcast (the node took it) → seen (the box's sync
//   sees it); or refused (the node said no, in words), discarded.
//
// A signature that does not verify never gets past `signed` (finalizeVaultPsbt refuses it). A
// crash while `broadcasting` is settled on the next start: the box asks its node's mempool and its
// own view of the chain; if the transaction is in neither it goes back to `signed`, kept, so the
// owner broadcasts exactly that transaction later (same txid: never a second payment).
import { Transaction } from 'bitcoinjs-lib'
import type { VaultSpendReview } from '../../../shared/api/hardware'
import { FlashError } from '../../errors'
import type { Logger } from '../../log'
import { broadcast, type BroadcastNode } from '../../wallet/send/broadcast'
import type { SavedVault } from './vault-keys'
import { combinePsbts, finalizeVaultPsbt, outputAddress, type VaultCoin } from './vault-psbt'
import { findVaultCoins, planVaultSpend, VAULT_SCAN } from './vault-spend'
import type { SpendRow, StoredReview, VaultStore } from './vault-store'
import type { FollowedCoin } from './vault-watch'

/** What the saga needs of the box's view of the vault on chain (vault-watch.ts). */
export interface VaultChain {
  coins(vaultId: string): FollowedCoin[]
  sees(vaultId: string, txid: string): boolean
  nextAddress(vaultId: string, chain: 0 | 1): Promise<{ index: number; address: string }>
  noteBroadcast(vaultId: string, hex: string): Promise<void>
}

/** What it needs of the box's node: the wallet's broadcast path (wallet-module.ts `node`). */
export interface VaultNode extends BroadcastNode {
  getMempoolEntry(txid: string): Promise<unknown>
}

const outpoint = (c: { txid: string; vout: number }) => `${c.txid}:${c.vout}`
const round2 = (n: number) => Math.round(n * 100) / 100

export class VaultSpendSaga {
  /** Spends whose broadcast runs in this process now (not left `broadcasting` by a crash). */
  private readonly inFlight = new Set<string>()

  constructor(
    private readonly opts: {
      store: VaultStore
      vault: (vaultId: string) => SavedVault
      chain: () => VaultChain
      node: () => VaultNode
      log: Logger
      changed: (vaultId: string) => void
    },
  ) {}

  private get store() {
    return this.opts.store
  }

  async prepare(input: {
    vaultId: string
    to: string
    amountSat: number
    feeRate: number
    fundingTxs?: readonly string[] | undefined
  }): Promise<VaultSpendReview> {
    const vault = this.opts.vault(input.vaultId)
    const chain = this.opts.chain()
    const offline = (input.fundingTxs?.length ?? 0) > 0
    let coins: VaultCoin[]
    if (offline) {
      coins = findVaultCoins(vault, input.fundingTxs!)
      if (coins.length === 0)
        throw new FlashError(
          'vault.no_coins',
          `None of these transactions pays the vault (its first ${VAULT_SCAN} receive and change addresses).`,
          'Paste the transaction that sent coins to the vault’s address.',
        )
    } else {
      const held = this.store.heldCoins(vault.id)
      const all = chain.coins(vault.id).filter((c) => !held.has(outpoint(c)))
      coins = all.filter((c) => c.confirmations > 0)
      if (coins.length === 0) {
        const waiting = all.reduce((s, c) => s + c.value, 0n)
        throw new FlashError(
          'vault.no_confirmed_coins',
          waiting > 0n
            ? `The vault has no confirmed coins yet; ${waiting} sat are on their way and can be spent once confirmed.`
            : 'The box sees no coins in the vault.',
          waiting > 0n
            ? 'Wait for a confirmation, then prepare the spend again.'
            : 'Send coins to the vault’s receive address first; they appear here by themselves.',
        )
      }
    }
    const change = await chain.nextAddress(vault.id, 1)
    const plan = planVaultSpend(
      vault,
      coins,
      input.to,
      BigInt(input.amountSat),
      input.feeRate,
      change.index,
    )
    const review: StoredReview = {
      coins: plan.coins.map((c) => ({ outpoint: outpoint(c), valueSat: Number(c.value) })),
      inputSat: Number(plan.total),
      outputs: [
        { address: input.to, valueSat: input.amountSat, change: false },
        ...(plan.change
          ? [{ address: plan.change.address, valueSat: Number(plan.change.value), change: true }]
          : []),
      ],
      feeSat: Number(plan.fee),
      feeRate: round2(Number(plan.fee) / plan.vsize),
      vsize: plan.vsize,
      offline,
    }
    const id = this.store.insertUnsigned({
      vaultId: vault.id,
      psbt: plan.psbt,
      review,
      coins: review.coins.map((c) => c.outpoint),
    })
    return this.view(this.store.spend(id)!)
  }

  /**
   * Joins the signed copies with the spend's own PSBT, checks every signature and the threshold,
   * and keeps the final transaction (`signed`) with the exact review the owner confirms.
   */
  finalize(input: { spendId: string; psbts: readonly string[] }): VaultSpendReview {
    const row = this.row(input.spendId)
    if (row.state !== 'unsigned') return this.alreadyPast(row)
    const vault = this.opts.vault(row.vault_id)
    const final = finalizeVaultPsbt(vault, combinePsbts(vault, [row.psbt, ...input.psbts]))
    const before = JSON.parse(row.review_json) as StoredReview
    if (!before.offline) this.checkCoinsUnspent(row)
    const tx = Transaction.fromHex(final.hex)
    const outSum = tx.outs.reduce((s, o) => s + Number(o.value), 0)
    const feeSat = before.inputSat - outSum
    const changeAddresses = new Set(before.outputs.filter((o) => o.change).map((o) => o.address))
    const review: StoredReview = {
      ...before,
      outputs: tx.outs.map((o) => {
        const address = outputAddress(vault, o.script)
        return {
          ...(address ? { address } : {}),
          valueSat: Number(o.value),
          change: address !== undefined && changeAddresses.has(address),
        }
      }),
      feeSat,
      vsize: tx.virtualSize(),
      feeRate: round2(feeSat / tx.virtualSize()),
    }
    this.store.move(row.id, ['unsigned'], 'signed', {
      txid: final.txid,
      raw_hex: final.hex,
      review_json: JSON.stringify(review),
    })
    this.opts.log.info('vault spend signed and kept', { txid: final.txid })
    this.opts.changed(row.vault_id)
    return this.view(this.store.spend(row.id)!)
  }

  /** The owner confirmed the review: the kept transaction goes to the box's node. */
  async broadcast(input: { spendId: string }): Promise<VaultSpendReview> {
    const row = this.row(input.spendId)
    if (row.state === 'broadcast' || row.state === 'seen') return this.view(row)
    if (this.inFlight.has(row.id))
      throw new FlashError(
        'vault.broadcast_running',
        'This spend is being sent right now.',
        'Wait a moment; the list of spends shows when it is done.',
      )
    if (!['signed', 'refused', 'broadcasting'].includes(row.state) || !row.raw_hex || !row.txid)
      throw new FlashError(
        'vault.not_signed',
        row.state === 'unsigned'
          ? 'This spend does not have its signatures yet.'
          : `This spend is ${row.state}; it cannot be broadcast.`,
        row.state === 'unsigned'
          ? 'Collect the signatures, then combine and check them.'
          : 'Prepare a new spend.',
      )
    this.inFlight.add(row.id)
    try {
      this.store.move(row.id, ['signed', 'refused', 'broadcasting'], 'broadcasting', {
        failure: null,
      })
      this.opts.changed(row.vault_id)
      try {
        await broadcast(this.opts.node(), row.raw_hex, row.txid)
      } catch (e) {
        if (e instanceof FlashError && e.code === 'wallet.broadcast-refused') {
          this.store.move(row.id, ['broadcasting'], 'refused', { failure: e.message })
          this.opts.log.warn('the node refused a vault spend', { txid: row.txid })
          throw e
        }
        // The node could not be reached: it did not take the transaction, which stays kept.
        this.store.move(row.id, ['broadcasting'], 'signed')
        throw new FlashError(
          'vault.broadcast_pending',
          'The spend is signed and kept, but your Bitcoin node could not be reached to send it.',
          'When the node is running again, press “Broadcast” on this spend in Devices → Vault spends.',
          { cause: e },
        )
      }
      this.store.move(row.id, ['broadcasting'], 'broadcast')
      this.opts.log.info('vault spend broadcast', { txid: row.txid })
      await this.opts
        .chain()
        .noteBroadcast(row.vault_id, row.raw_hex)
        .catch(() => undefined)
      return this.view(this.store.spend(row.id)!)
    } finally {
      this.inFlight.delete(row.id)
      this.opts.changed(row.vault_id)
    }
  }

  discard(input: { spendId: string }): VaultSpendReview {
    const row = this.row(input.spendId)
    if (!this.store.move(row.id, ['unsigned', 'signed', 'refused'], 'discarded'))
      throw new FlashError(
        'vault.cannot_discard',
        `This spend is ${row.state}; it cannot be discarded.`,
        row.state === 'broadcasting' || row.state === 'broadcast' || row.state === 'seen'
          ? 'It has been handed to your node; wait for it to confirm.'
          : 'Nothing to do.',
      )
    this.opts.changed(row.vault_id)
    return this.view(this.store.spend(row.id)!)
  }

  list(vaultId: string): VaultSpendReview[] {
    return this.store.spends(vaultId).map((r) => this.view(r))
  }

  /**
   * After a start and whenever the vault's chain view changes: spends the sync sees become
   * `seen`; a spend left `broadcasting` by a crash becomes `broadcast` if the node has it, or
   * `signed` (kept, to be broadcast again by the owner) if it does not. Nothing is sent here.
   */
  async reconcile(): Promise<void> {
    const chain = this.opts.chain()
    for (const row of this.store.unresolved()) {
      if (!row.txid || this.inFlight.has(row.id)) continue
      let sees: boolean
      try {
        sees = chain.sees(row.vault_id, row.txid)
      } catch {
        continue // a vault this box no longer follows
      }
      if (sees) {
        if (this.store.move(row.id, ['signed', 'broadcasting', 'broadcast'], 'seen'))
          this.opts.changed(row.vault_id)
        continue
      }
      if (row.state === 'broadcast') continue
      let entry: unknown
      try {
        entry = await this.opts.node().getMempoolEntry(row.txid)
      } catch {
        continue // the node cannot say now: the next pass asks again
      }
      if (this.inFlight.has(row.id)) continue
      if (entry !== undefined && entry !== null) {
        if (this.store.move(row.id, ['signed', 'broadcasting'], 'broadcast')) {
          this.opts.log.info('vault spend found in the node’s mempool', { txid: row.txid })
          this.opts.changed(row.vault_id)
        }
      } else if (row.state === 'broadcasting') {
        if (this.store.move(row.id, ['broadcasting'], 'signed')) {
          this.opts.log.info('vault spend left mid-broadcast is kept to send again', {
            txid: row.txid,
          })
          this.opts.changed(row.vault_id)
        }
      }
    }
  }

  view(row: SpendRow): VaultSpendReview {
    const r = JSON.parse(row.review_json) as StoredReview
    return {
      id: row.id,
      vaultId: row.vault_id,
      state: row.state,
      psbt: row.psbt,
      ...r,
      ...(row.txid ? { txid: row.txid } : {}),
      ...(row.raw_hex ? { hex: row.raw_hex } : {}),
      ...(row.failure ? { failure: row.failure } : {}),
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    }
  }

  private row(id: string): SpendRow {
    const row = this.store.spend(id)
    if (!row)
      throw new FlashError(
        'vault.spend_unknown',
        'There is no vault spend with that id.',
        'Look at Devices → Vault spends.',
      )
    return row
  }

  private alreadyPast(row: SpendRow): VaultSpendReview {
    if (row.state === 'discarded')
      throw new FlashError(
        'vault.spend_discarded',
        'This spend was discarded.',
        'Prepare a new spend.',
      )
    return this.view(row)
  }

  private checkCoinsUnspent(row: SpendRow): void {
    const mine = JSON.parse(row.coins_json) as string[]
    const unspent = new Set(this.opts.chain().coins(row.vault_id).map(outpoint))
    const held = this.store.heldCoins(row.vault_id)
    const gone = mine.filter((c) => !unspent.has(c) || held.has(c))
    if (gone.length > 0)
      throw new FlashError(
        'vault.coin_spent',
        `The coin ${gone[0]!.slice(0, 12)}… was spent, or is being spent by another signed spend, since this spend was prepared. Nothing was sent.`,
        'Discard this spend and prepare a new one.',
      )
  }
}
