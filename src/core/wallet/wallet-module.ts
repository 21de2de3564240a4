// The on-chain wallet as an engine module: accounts (seed and watch-only), the sync with the box's
// electrs (wallet-sync.ts), receive, history, coins, labels — and the send side
// (send/send-service.ts) wired to it through WalletForSend. Events: `wallet/status` when the
// connection or tip changes, `wallet/transaction` per changed transaction, `wallet/reorg` when a
// confirmation is lost or a deposit disappears (also kept as a notice in the status).
import { join } from 'node:path'
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { BitcoindRpc } from '../clients/bitcoind-rpc'
import { loadSettings } from '../engine/stack-module'
import type { EngineContext, EngineModule, EngineModuleFactory } from '../engine/module'
import { FlashError } from '../errors'
import { loadOrCreateStackSecrets } from '../secrets/stack-secrets'
import { boxKeyFor } from '../secrets/box-key'
import { networkParams, servicePorts } from '../stack/networks'
import { qrDataUrl } from '../ecash/qr'
import type { Settings } from '../../shared/settings'
import type {
  walletApi,
  WalletAccountView,
  WalletNotice,
  WalletStatus,
} from '../../shared/api/wallet'
import { masterKey, seedAccount, watchOnlyAccount } from './account'
import { bip21Uri } from './bip21'
import { exportBip329, parseBip329 } from './bip329'
import type { ElectrumEndpoint } from './electrum-session'
import {
  migrateWalletSeedOnUnlock,
  migrateWalletSeedWithPassword,
  openWalletSeed,
  sealWalletSeed,
  walletSeedInfo,
} from './seed-sealing'
import { SendService, type SendNode } from './send/send-service'
import { SendStore } from './send/send-saga'
import { ChannelFundingStore } from './send/channel-funding-saga'
import { LightningMoves } from './send/lightning-moves'
import type { LightningModule } from '../lightning/lightning-module'
import type { FeeEstimator } from './send/fee-rates'
import type { WalletAccount, WalletForSend, WalletNetwork, WalletScriptKind } from './types'
import { WalletStore } from './wallet-store'
import { WalletSync, type AccountState } from './wallet-sync'
import * as views from './wallet-views'

export interface WalletModuleOptions {
  /** Where electrs answers (default: 127.0.0.1:50001 when electrs is in the stack). */
  readonly endpoint?: (settings: Settings) => ElectrumEndpoint | null
  /** The box's Bitcoin node for broadcasts (default: its RPC on 127.0.0.1 with the dashboard's credentials). */
  readonly node?: (settings: Settings) => SendNode | Promise<SendNode>
  readonly retryMs?: { readonly min: number; readonly max: number }
}

export interface WalletModule extends EngineModule<typeof walletApi> {
  readonly sync: WalletSync
  readonly forSend: WalletForSend
  /** Where the wallet's Electrum server answers (null while there is none): vaults sync there too. */
  electrumEndpoint(): ElectrumEndpoint | null
  /** The box's Bitcoin node, as the wallet broadcasts through it (vault spends use it too). */
  readonly node: SendNode
}

export function walletModule(options: WalletModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createWalletModule(ctx, options)
}

/** The wallet's network for the stack's (testnet4 uses testnet's address format). */
export function walletNetwork(settings: Settings): WalletNetwork {
  return settings.network === 'testnet4' ? 'testnet' : settings.network
}

const MAX_NOTICES = 20

export function createWalletModule(
  ctx: EngineContext,
  options: WalletModuleOptions = {},
): WalletModule {
  const log = ctx.log.child('wallet')
  const settings = () => loadSettings(ctx.dataDir)
  const store = new WalletStore(join(ctx.dataDir, 'wallet', 'wallet.sqlite'))
  const sendStore = new SendStore(join(ctx.dataDir, 'wallet', 'sends.sqlite'))
  const fundingStore = new ChannelFundingStore(
    join(ctx.dataDir, 'wallet', 'channel-fundings.sqlite'),
  )
  const notices: WalletNotice[] = []
  const notice = (n: Omit<WalletNotice, 'at'>) => {
    notices.unshift({ at: new Date().toISOString(), ...n })
    notices.length = Math.min(notices.length, MAX_NOTICES)
  }
  const publishStatus = () =>
    ctx.events.publish({ topic: 'wallet', type: 'status', status: status() })

  const electrumEndpoint = (): ElectrumEndpoint | null => {
    const s = settings()
    if (!s) return null
    if (options.endpoint) return options.endpoint(s)
    return s.services.electrs ? { host: '127.0.0.1', port: servicePorts.electrum } : null
  }
  const sync: WalletSync = new WalletSync({
    store,
    log,
    ...(options.retryMs ? { retryMs: options.retryMs } : {}),
    endpoint: electrumEndpoint,
    events: {
      status: () => {
        publishStatus()
        void send.reconcile().catch(() => {})
        // Wallet-funded channel openings a crash interrupted (needs LND; waits while it is not up).
        void moves.reconcile().catch(() => {})
      },
      transaction: (accountId, txid) => {
        const state = sync.accounts.get(accountId)
        const t = state?.txs.get(txid)
        if (!state || !t) return
        ctx.events.publish({
          topic: 'wallet',
          type: 'transaction',
          accountId,
          transaction: views.transactionView(state, t, extras(state)),
        })
      },
      reorg: (accountId, txid, outcome, message) => {
        notice({ accountId, txid, kind: outcome, message })
        log.warn('reorg', { accountId, txid, outcome })
        ctx.events.publish({ topic: 'wallet', type: 'reorg', accountId, txid, outcome, message })
        publishStatus()
      },
      badProof: (accountId, txid, error) => {
        notice({ accountId, txid, kind: 'bad_proof', message: error.message })
        publishStatus()
      },
    },
  })

  const extras = (state: AccountState): views.AccountExtras => ({
    labels: store.labels(state.account.id),
    frozen: store.frozen(state.account.id),
    tipHeight: sync.tipHeight,
  })

  const accountView = (state: AccountState): WalletAccountView => ({
    ...state.account,
    balance: views.balance(views.coins(state, extras(state))),
  })

  function status(): WalletStatus {
    const s = settings()
    const state = sync.session.state
    const connection =
      !s || state === 'disabled'
        ? 'disabled'
        : state === 'ready'
          ? sync.syncedAt
            ? 'ready'
            : 'syncing'
          : state
    const problem = sync.session.problem
    return {
      connection,
      seed: walletSeedInfo(ctx.dataDir),
      accounts: [...sync.accounts.values()].map(accountView),
      ...(sync.tipHeight !== undefined ? { tipHeight: sync.tipHeight } : {}),
      ...(sync.syncedAt ? { syncedAt: sync.syncedAt.toISOString() } : {}),
      ...(problem && state !== 'ready' ? { problem: problem.toJSON() } : {}),
      notices: [...notices],
    }
  }

  const network = (): WalletNetwork => {
    const s = settings()
    if (!s) {
      throw new FlashError(
        'wallet.no_settings',
        'The box is not set up yet, so the wallet does not know its network.',
        'Finish the setup wizard first.',
      )
    }
    return walletNetwork(s)
  }

  const seedOf = async (password: string) => {
    const words = await openWalletSeed(ctx.dataDir, password)
    return mnemonicToSeedSync(words.mnemonic, words.passphrase)
  }

  const nextSeedAccount = async (password: string, kind: WalletScriptKind, name?: string) => {
    const seed = await seedOf(password)
    const used = [...sync.accounts.values()].filter(
      (a) => a.account.source === 'seed' && a.account.kind === kind,
    )
    const number = used.length ? Math.max(...used.map((a) => a.account.account ?? 0)) + 1 : 0
    const account = seedAccount({
      seed,
      network: network(),
      kind,
      account: number,
      id: `${kind}-${number}`,
      name: name ?? `${kind === 'wpkh' ? 'SegWit' : 'Taproot'} ${number}`,
    })
    return sync.addAccount(account)
  }

  const createFromWords = async (p: {
    password: string
    mnemonic: string
    passphrase?: string | undefined
    kind: WalletScriptKind
  }) => {
    const mnemonic = p.mnemonic.trim().toLowerCase().split(/\s+/).join(' ')
    if (!validateMnemonic(mnemonic, wordlist)) {
      throw new FlashError(
        'wallet.bad_mnemonic',
        'Those words are not a valid BIP39 recovery phrase (a word is misspelt, missing, or in the wrong order).',
        'Check each word against your backup; there are 12 or 24 of them.',
      )
    }
    network() // refuse before sealing anything when the box has no settings
    await sealWalletSeed(ctx.dataDir, p.password, { mnemonic, passphrase: p.passphrase ?? '' })
    await nextSeedAccount(p.password, p.kind)
    return status()
  }

  const forSend: WalletForSend = {
    account: (id) => sync.account(id).account,
    coins: (id) => {
      const state = sync.account(id)
      return views.coins(state, extras(state))
    },
    transaction: (id, txid) => {
      const state = sync.account(id)
      const t = state.txs.get(txid)
      return t ? views.transactionView(state, t, extras(state)) : undefined
    },
    nextChangeAddress: async (id) => {
      const a = await sync.nextAddress(id, 1)
      return { accountId: id, ...a.derived, used: a.history.length > 0 }
    },
    addressForScript: (id, script) => {
      const a = sync.account(id).byScript.get(script)
      return a ? { accountId: id, ...a.derived, used: a.history.length > 0 } : undefined
    },
    masterKey: async (id, password) => {
      const account = sync.account(id).account
      if (account.source !== 'seed') {
        throw new FlashError(
          'wallet.watch_only',
          'This account is watch-only: the box does not hold its keys and cannot sign for it.',
          'Export the PSBT, sign it with the wallet that holds the keys, then import it here.',
        )
      }
      const master = masterKey(await seedOf(password), account.network)
      if (Buffer.from(master.fingerprint).toString('hex') !== account.origin.masterFingerprint) {
        throw new FlashError(
          'wallet.seed_mismatch',
          'The stored seed does not belong to this account.',
          'Restore secrets/wallet-seed.json from the backup made with this account.',
        )
      }
      return master
    },
    noteBroadcast: (id, hex) => sync.noteBroadcast(id, hex),
  }

  const fees: FeeEstimator = {
    estimateFee: (blocks) => sync.session.client().estimateFee(blocks),
    relayFee: () => sync.session.client().relayFee(),
  }
  let nodeOnce: Promise<SendNode> | undefined
  const node = (): Promise<SendNode> => {
    const s = settings()
    if (!s)
      return Promise.reject(
        new FlashError(
          'wallet.no_settings',
          'The box is not set up yet.',
          'Finish the setup wizard first.',
        ),
      )
    nodeOnce ??= (async () => {
      if (options.node) return options.node(s)
      const secrets = await loadOrCreateStackSecrets(s.dataDir)
      const rpc = secrets.bitcoindRpc.dashboard
      return new BitcoindRpc({
        url: `http://127.0.0.1:${networkParams[s.network].rpcPort}`,
        user: rpc.user,
        password: rpc.password,
      })
    })()
    nodeOnce.catch(() => (nodeOnce = undefined))
    return nodeOnce
  }
  // The send service asks for the node lazily: a box without settings still lists its wallet.
  const lazyNode: SendNode = {
    sendRawTransaction: async (hex) => (await node()).sendRawTransaction(hex),
    getBlockCount: async () => (await node()).getBlockCount(),
    getMempoolEntry: async (txid) => (await node()).getMempoolEntry(txid),
    getMempoolCluster: async (txid) => (await node()).getMempoolCluster?.(txid),
  }
  const send = new SendService({ wallet: forSend, node: lazyNode, fees, store: sendStore, log })
  const moves = new LightningMoves({
    send,
    wallet: forSend,
    lnd: () => (ctx.modules.get('lightning') as LightningModule | undefined)?.appLnd(),
    fundings: fundingStore,
    log,
  })

  const accountState = (id: string) => sync.account(id)

  const handlers: WalletModule['handlers'] = {
    status: async () => status(),
    createSeed: async ({ password, words, passphrase, kind }) =>
      createFromWords({
        password,
        mnemonic: generateMnemonic(wordlist, words === 24 ? 256 : 128),
        passphrase,
        kind,
      }),
    restoreSeed: async ({ password, mnemonic, passphrase, kind }) =>
      createFromWords({ password, mnemonic, passphrase, kind }),
    revealSeed: async ({ password }) => {
      const words = await openWalletSeed(ctx.dataDir, password)
      return { words: words.mnemonic.split(' '), hasPassphrase: words.passphrase !== '' }
    },
    addAccount: async ({ password, kind, name }) =>
      accountView(await nextSeedAccount(password, kind, name)),
    importWatchOnly: async ({ name, source }) => {
      const taken = new Set(sync.accounts.keys())
      let n = 0
      while (taken.has(`watch-${n}`)) n++
      const account = watchOnlyAccount({ source, network: network(), id: `watch-${n}`, name })
      // A watch-only copy of a seed account is allowed (e.g. to hand its labels around); the
      // same key watched twice is not.
      for (const a of sync.accounts.values()) {
        if (
          a.account.source === 'watch-only' &&
          a.account.xpub === account.xpub &&
          a.account.kind === account.kind
        ) {
          throw new FlashError(
            'wallet.account_exists',
            `This key is already the account "${a.account.name}".`,
            'Open that account on the Wallet page.',
          )
        }
      }
      return accountView(await sync.addAccount(account))
    },
    setGapLimit: async ({ accountId, gapLimit }) => {
      const state = accountState(accountId)
      const updated: WalletAccount = { ...state.account, gapLimit }
      await sync.updateAccount(updated)
      return accountView(state)
    },
    receive: async ({ accountId, amountSat, label }) => {
      const a = await sync.nextAddress(accountId, 0)
      if (label) store.durable(() => store.setLabel(accountId, 'addr', a.derived.address, label))
      const p = {
        address: a.derived.address,
        ...(amountSat ? { amountSat } : {}),
        ...(label ? { label } : {}),
      }
      return {
        address: a.derived.address,
        index: a.derived.derivation.index,
        uri: bip21Uri(p),
        qr: (await qrDataUrl(bip21Uri(p, { forQr: true })))!,
        ...(label ? { label } : {}),
      }
    },
    addresses: async ({ accountId, chain }) => {
      const state = accountState(accountId)
      return views.addresses(state, extras(state), chain)
    },
    history: async ({ accountId, search }) => {
      const state = accountState(accountId)
      return views.searchHistory(views.history(state, extras(state)), search)
    },
    historyCsv: async ({ accountId }) => {
      const state = accountState(accountId)
      return views.historyCsv(views.history(state, extras(state)))
    },
    balanceHistory: async ({ accountId }) => {
      const state = accountState(accountId)
      return views.balanceHistory(views.history(state, extras(state)))
    },
    coins: async ({ accountId }) => {
      const state = accountState(accountId)
      return views.coins(state, extras(state))
    },
    setFrozen: async ({ accountId, outpoint, frozen }) => {
      const state = accountState(accountId)
      const coin = views.coins(state, extras(state)).find((c) => c.outpoint === outpoint)
      if (!coin) {
        throw new FlashError(
          'wallet.no_coin',
          'That coin is not in this account (it may have been spent).',
          'Open the Coins tab again to see the current coins.',
        )
      }
      store.durable(() => store.setFrozen(accountId, outpoint, frozen))
      ctx.events.publish({ topic: 'wallet', type: 'coins', accountId })
      return { ...coin, frozen }
    },
    setLabel: async ({ accountId, type, ref, label }) => {
      accountState(accountId)
      store.durable(() => store.setLabel(accountId, type, ref, label.trim()))
      ctx.events.publish({ topic: 'wallet', type: 'coins', accountId })
      return null
    },
    exportLabels: async ({ accountId }) => {
      const state = accountState(accountId)
      return exportBip329(
        views.labelRecords(state, store.labels(accountId), store.frozen(accountId)),
      )
    },
    importLabels: async ({ accountId, jsonl }) => {
      accountState(accountId)
      const { records, invalid } = parseBip329(jsonl)
      let imported = 0
      let skipped = invalid
      store.durable(() => {
        for (const r of records) {
          if (r.type !== 'tx' && r.type !== 'addr' && r.type !== 'output') {
            skipped++
            continue
          }
          if (r.label !== undefined) store.setLabel(accountId, r.type, r.ref, r.label)
          if (r.type === 'output' && r.spendable !== undefined)
            store.setFrozen(accountId, r.ref, !r.spendable)
          imported++
        }
      })
      ctx.events.publish({ topic: 'wallet', type: 'coins', accountId })
      return { imported, skipped }
    },
    // --- the send side (send/send-service.ts) ---
    feeRates: async () => send.feeRates(),
    prepareSend: async (input) => send.prepareSend(input),
    prepareBump: async (input) => send.prepareBump(input),
    prepareCpfp: async (input) => send.prepareCpfp(input),
    confirmSend: async (input) => send.confirm(input),
    broadcastSigned: async (input) => send.broadcastSigned(input),
    discardSend: async (input) => {
      await moves.cancelChannelFunding(input.reviewId)
      return send.discard(input)
    },
    prepareToLightning: async (input) => moves.prepareToLightning(input),
    fromLightning: async (input) => moves.fromLightning(input),
    prepareChannelFunding: async (input) => moves.prepareChannelFunding(input),
    confirmChannelFunding: async (input) => moves.confirmChannelFunding(input),
    importPsbt: async (input) => send.importPsbt(input),
    sends: async ({ accountId }) => send.list(accountId),
    send: async ({ reviewId }) => send.get(reviewId),
  }

  // A seed file of the first scheme (sealed to the seed vault) moves under the box key on unlock.
  const migrateSeed = (run: () => boolean | Promise<boolean>) =>
    Promise.resolve()
      .then(run)
      .then((moved) => moved && log.info('wallet seed moved under the box key'))
      .catch((err: unknown) =>
        log.warn('could not move the wallet seed under the box key', {
          message: (err as Error).message,
        }),
      )
  let stopWatchingUnlock: (() => void) | undefined

  return {
    name: 'wallet',
    sync,
    forSend,
    electrumEndpoint,
    node: lazyNode,
    handlers,
    async ownerPasswordEntered(password) {
      await migrateSeed(() => migrateWalletSeedWithPassword(ctx.dataDir, password))
    },
    async start() {
      stopWatchingUnlock = boxKeyFor(ctx.dataDir).onUnlock(
        (box) => void migrateSeed(() => migrateWalletSeedOnUnlock(ctx.dataDir, box)),
      )
      await sync.start()
      await send
        .reconcile()
        .catch((err: unknown) =>
          log.debug('send reconcile at start failed', { message: (err as Error).message }),
        )
      await moves.reconcile().catch((err: unknown) =>
        log.debug('channel funding reconcile at start failed', {
          message: (err as Error).message,
        }),
      )
    },
    async stop() {
      stopWatchingUnlock?.()
      sync.stop()
      store.close()
      fundingStore.close()
    },
  }
}
