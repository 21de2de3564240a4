// The box follows its vaults on chain, watch-only: each vault is an account of a WalletSync of its
// own (its own store, <dataDir>/hardware/vault-wallet.sqlite, and its own Electrum connection to
// the same server as the on-chain wallet), so deposits and spends appear by themselves, with
// confirmations counted only once their Merkle proofs check out. The box holds no vault key here.
import { join } from 'node:path'
import type { SavedVaultView, VaultCoinView, VaultTxView } from '../../../shared/api/hardware'
import type { Logger } from '../../log'
import type { ElectrumEndpoint } from '../../wallet/electrum-session'
import { WalletStore } from '../../wallet/wallet-store'
import { WalletSync, type AccountState } from '../../wallet/wallet-sync'
import * as views from '../../wallet/wallet-views'
import { vaultAccount, VaultKeys, type SavedVault } from './vault-keys'
import type { VaultCoin } from './vault-psbt'

export type VaultChainView = Pick<
  SavedVaultView,
  'sync' | 'balance' | 'coins' | 'history' | 'receive'
>

/** A coin the sync found, as a spend takes it (with its previous transaction). */
export interface FollowedCoin extends VaultCoin {
  readonly confirmations: number
  readonly address: string
}

export interface VaultWatchOptions {
  readonly dataDir: string
  /** The vaults kept so far (each becomes a watched account). */
  readonly vaults: readonly SavedVault[]
  readonly endpoint: () => ElectrumEndpoint | null | Promise<ElectrumEndpoint | null>
  readonly log: Logger
  /** A vault's chain view changed (undefined: the connection or the tip changed). */
  readonly changed: (vaultId: string | undefined) => void
  readonly retryMs?: { readonly min: number; readonly max: number }
}

export class VaultWatch {
  readonly sync: WalletSync
  private readonly store: WalletStore
  private readonly vaults = new Map<string, SavedVault>()

  constructor(opts: VaultWatchOptions) {
    for (const v of opts.vaults) this.vaults.set(v.id, v)
    this.store = new WalletStore(join(opts.dataDir, 'hardware', 'vault-wallet.sqlite'))
    this.sync = new WalletSync({
      store: this.store,
      log: opts.log,
      endpoint: opts.endpoint,
      ...(opts.retryMs ? { retryMs: opts.retryMs } : {}),
      deriver: (account) => {
        const v = this.vaults.get(account.id)
        if (!v) throw new Error(`vault ${account.id} is not kept on this box`)
        return new VaultKeys(v)
      },
      events: {
        transaction: (id) => opts.changed(id),
        reorg: (id) => opts.changed(id),
        badProof: (id) => opts.changed(id),
        status: () => opts.changed(undefined),
      },
    })
  }

  start(): Promise<void> {
    return this.sync.start()
  }

  stop(): void {
    this.sync.stop()
    this.store.close()
  }

  /** Starts following a vault (discovers its used addresses when connected). */
  async add(vault: SavedVault): Promise<void> {
    this.vaults.set(vault.id, vault)
    await this.sync.addAccount(vaultAccount(vault))
  }

  private state(vaultId: string): AccountState {
    return this.sync.account(vaultId)
  }

  private extras(): views.AccountExtras {
    return { labels: new Map(), frozen: new Set(), tipHeight: this.sync.tipHeight }
  }

  /** Coins of the vault not spent by any live transaction it knows, largest first. */
  coins(vaultId: string): FollowedCoin[] {
    const state = this.state(vaultId)
    return views.coins(state, this.extras()).map((c) => ({
      txid: c.txid,
      vout: c.vout,
      value: BigInt(c.valueSat),
      chain: c.derivation.chain,
      index: c.derivation.index,
      prevTxHex: state.txs.get(c.txid)!.hex,
      confirmations: c.confirmations,
      address: c.address,
    }))
  }

  /** Whether the sync sees this transaction in the vault's history (mempool or a block). */
  sees(vaultId: string, txid: string): boolean {
    const t = this.state(vaultId).txs.get(txid)
    return !!t && t.state === 'live'
  }

  nextAddress(vaultId: string, chain: 0 | 1): Promise<{ index: number; address: string }> {
    return this.sync
      .nextAddress(vaultId, chain)
      .then((a) => ({ index: a.derived.derivation.index, address: a.derived.address }))
  }

  noteBroadcast(vaultId: string, hex: string): Promise<void> {
    return this.sync.noteBroadcast(vaultId, hex)
  }

  view(vaultId: string, held: ReadonlySet<string>): VaultChainView {
    const state = this.state(vaultId)
    const extras = this.extras()
    const coinList = views.coins(state, extras)
    const balance = views.balance(coinList)
    const coins: VaultCoinView[] = coinList.map((c) => ({
      outpoint: c.outpoint,
      valueSat: c.valueSat,
      address: c.address,
      chain: c.derivation.chain,
      index: c.derivation.index,
      confirmations: c.confirmations,
      held: held.has(c.outpoint),
    }))
    const history: VaultTxView[] = views.history(state, extras).map((t) => ({
      txid: t.txid,
      status: t.status,
      confirmations: t.confirmations,
      netSat: t.netSat,
      ...(t.feeSat !== undefined && t.sentSat > 0 ? { feeSat: t.feeSat } : {}),
      firstSeen: t.firstSeen,
    }))
    const handed = state.handed[0]
    const receive = handed >= 0 ? state.chains[0][handed] : undefined
    const problem = this.sync.session.problem
    return {
      sync: {
        state: this.sync.session.state,
        ...(problem ? { problem: problem.message } : {}),
        ...(this.sync.tipHeight !== undefined ? { tipHeight: this.sync.tipHeight } : {}),
      },
      balance: { confirmedSat: balance.confirmedSat, unconfirmedSat: balance.unconfirmedSat },
      coins,
      history,
      ...(receive ? { receive: { index: handed, address: receive.derived.address } } : {}),
    }
  }
}
