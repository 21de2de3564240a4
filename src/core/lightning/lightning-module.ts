// The lightning domain of the engine (src/shared/api/lightning.ts): a level-triggered loop that
// brings the box's LND to a ready wallet with every consumer's macaroon baked, and the owner's
// actions on it. Paths follow the stack's data folder (settings.dataDir), where the catalog mounts
// LND's directory and the macaroons; the owner's seed vault sits beside the owner password.
import { createHash, randomInt } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import type {
  LightningEvent,
  LightningStatus,
  LightningWalletState,
  lightningApi,
} from '../../shared/api/lightning'
import type { Settings } from '../../shared/settings'
import { writeFileAtomicSync } from '../atomic-file'
import { OwnerPassword, PasswordSchema } from '../api/http/owner-password'
import { LndClient, lndError } from '../clients/lnd'
import { changesPlacement, loadSettings } from '../engine/stack-module'
import type { EngineContext, EngineModule, EngineModuleFactory } from '../engine/module'
import { FlashError, toUserError } from '../errors'
import { redact } from '../log'
import { loadOrCreateStackSecrets } from '../secrets/stack-secrets'
import { writeSecretFileAtomic } from '../secrets/secret-file'
import { boxKeyFor } from '../secrets/box-key'
import { macaroonConsumers, macaroonFor, macaroonPath } from '../stack/macaroons'
import { networkParams, servicePorts } from '../stack/networks'
import { stackPaths } from '../stack/paths'
import {
  bakeMissingMacaroons,
  missingMacaroons,
  readMacaroon,
  removeMacaroons,
} from './macaroon-baking'
import {
  createSeedVault,
  migrateSeedVaultFile,
  openSeed,
  openSeedVault,
  readSealedSeed,
  readSeedVault,
  storeOnce,
} from './seed-vault'
import { walletStep, type WalletRestore, type WalletUnlocker } from './wallet-lifecycle'
import { followChannelBackups, openChannelBackup, readBackupInfo } from './channel-backup'
import { followChannelEvents } from './channel-events'
import * as views from './node-views'
import { alreadyPaid, PaymentSaga, PaymentStore, paymentView } from './payment-saga'
import { qrDataUrl } from '../ecash/qr'
import {
  LightningLimitsSchema,
  type InvoiceView,
  type LightningLimits,
  type PaymentView,
} from '../../shared/api/lightning'
import { lndWalletUnlocker, type LndEndpoint } from './wallet-unlocker'
import { Liquidity } from './liquidity'
import type { LiquidityView } from '../../shared/api/liquidity'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

export interface LightningModuleOptions {
  /** Where LND answers and its certificate (default: 127.0.0.1:10009, the box-made tls.cert). */
  readonly endpoint?: (settings: Settings) => LndEndpoint | Promise<LndEndpoint>
  /** Loop period while LND is not ready yet, and once it is. */
  readonly pollMs?: number
  readonly readyPollMs?: number
  /** The liquidity loop's clock (tests move it to check the schedule). */
  readonly now?: () => number
}

/** Files of the box's LND under the stack's data folder. */
export function lightningPaths(settings: Settings) {
  const stack = stackPaths(settings.dataDir)
  const lndDir = stack.service('lnd')
  const net = networkParams[settings.network].lnd
  return {
    stackDir: stack.root,
    lndDir,
    passwordFile: join(lndDir, 'wallet-password'),
    adminMacaroon: join(lndDir, 'data', 'chain', 'bitcoin', net, 'admin.macaroon'),
    sealedSeed: join(stack.secretsDir, 'lnd-seed.json'),
    pendingSeed: join(stack.secretsDir, 'lnd-seed.pending.json'),
    seedConfirmed: join(stack.secretsDir, 'lnd-seed-confirmed.json'),
    /** The static channel backup, sealed to the owner's vault (part of the box's backup). */
    channelBackup: join(stack.secretsDir, 'lnd-channel-backup.json'),
    /** Written when LND was restored from the backed-up words and channel backup. */
    restored: join(stack.secretsDir, 'lnd-restored.json'),
  }
}

const RestoredSchema = z.object({ restoredAt: z.string(), channels: z.number().int().min(0) })

function restoredInfo(path: string | undefined): z.infer<typeof RestoredSchema> | undefined {
  if (!path || !existsSync(path)) return undefined
  try {
    return RestoredSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
  } catch {
    return undefined
  }
}

export function seedVaultPath(engineDataDir: string): string {
  return join(engineDataDir, 'secrets', 'seed-vault.json')
}

type Handlers = EngineModule<typeof lightningApi>['handlers']

export interface LightningModule extends EngineModule<typeof lightningApi> {
  /**
   * The engine saw the owner's password (set or logged in): make the seed vault if there is none
   * yet, so the box can create LND's wallet on its own. Never throws.
   */
  ownerPasswordEntered(password: string): Promise<void>
  /** Runs one step of the loop now (tests, and after actions). */
  reconcile(): Promise<LightningStatus>
  /** The app's own authenticated LND, once the wallet is ready. */
  appLnd(): Lightning.AuthenticatedLnd | undefined
  /** One pass of the liquidity loop now (the loop runs it after every ready step). */
  liquidityPass(): Promise<LiquidityView>
  /** Decodes and checks an invoice as `pay` does (network, expiry, amount, limit); sends nothing. */
  preparePayment(request: string, amountSat?: number): Promise<PreparedPayment>
  /**
   * Sends a prepared payment through the payment saga (never twice for one payment hash) and
   * resolves with its final (or, after `waitMs`, still pending) state. The preimage is read back
   * from LND once it succeeded and handed to the caller only.
   */
  sendPayment(p: PreparedPayment, waitMs?: number): Promise<PaymentView & { preimage?: string }>
  /** What the payment saga recorded for a payment hash (undefined: never recorded). */
  paymentState(hash: string): PaymentView | undefined
  /** The network the box's LND runs on. */
  network(): Settings['network']
}

export interface PreparedPayment {
  readonly request: string
  readonly hash: string
  readonly amountSat: number
  readonly amountless: boolean
  readonly feeLimitSat: number
  readonly destination: string
  readonly description: string
}

export function lightningModule(options: LightningModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createLightningModule(ctx, options)
}

const SEED_CHECK_WORDS = 3
const SEED_CHECK_TTL_MS = 30 * 60_000

export function createLightningModule(
  ctx: EngineContext,
  options: LightningModuleOptions = {},
): LightningModule {
  const log = ctx.log.child('lightning')
  const vaultPath = seedVaultPath(ctx.dataDir)
  const owner = new OwnerPassword(ctx.dataDir)
  let settings: Settings | null = null
  let wallet: LightningWalletState = 'disabled'
  let problem: FlashError | undefined
  /** LND has no wallet but the box holds backed-up words: waiting for the owner's password. */
  let restoring = false
  /** The backed-up words and channel backup, opened with the owner's password, until used. */
  let restoreMaterial: { value: WalletRestore; until: number } | undefined
  let node: LightningStatus['node']
  let unlocker: (WalletUnlocker & { close(): void }) | undefined
  let unlockerKey = ''
  let app: LndClient | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let running: Promise<LightningStatus> | undefined
  let again = false
  let lastPublished = ''
  let check: { positions: number[]; hashes: string[]; until: number } | undefined
  let invoiceSub: { removeAllListeners(): void } | undefined
  let stopBackups: (() => void) | undefined
  let stopChannelEvents: (() => void) | undefined
  const store = new PaymentStore(join(ctx.dataDir, 'lightning', 'payments.db'))
  const limitsPath = join(ctx.dataDir, 'lightning', 'limits.json')
  const defaultLimits: LightningLimits = {
    maxPaymentSat: 1_000_000,
    feeLimitPercent: 1,
    minFeeLimitSat: 10,
  }
  // Read once, then kept: only setLimits writes the file (every payment checks the limits).
  let limitsRead: LightningLimits | undefined
  const loadLimits = (): LightningLimits => {
    if (limitsRead) return limitsRead
    try {
      limitsRead = LightningLimitsSchema.parse(JSON.parse(readFileSync(limitsPath, 'utf8')))
    } catch {
      limitsRead = defaultLimits
    }
    return limitsRead
  }
  const publishPayment = (payment: PaymentView) =>
    ctx.events.publish({
      topic: 'lightning',
      type: 'payment',
      payment: views.withFailureText(payment),
    })
  const publishChannels = () => ctx.events.publish({ topic: 'lightning', type: 'channels' })
  const publishInvoice = (invoice: InvoiceView) =>
    ctx.events.publish({ topic: 'lightning', type: 'invoice', invoice })
  let unsubscribe: (() => void) | undefined

  const hashWord = (w: string) =>
    createHash('sha256').update(w.trim().toLowerCase().normalize('NFKD')).digest('hex')

  const paths = () => (settings ? lightningPaths(settings) : undefined)

  const status = (): LightningStatus => {
    const p = paths()
    const backup = p ? readBackupInfo(p.channelBackup) : undefined
    let seedStored: boolean
    try {
      seedStored = p ? readSealedSeed(p.sealedSeed) !== null : false
    } catch {
      seedStored = true // damaged, but there: the problem says so
    }
    return {
      // "ready" only once the app's client is connected: between the wallet's unlock and then
      // (the macaroons are baked first) a page told "ready" would ask for balances and get
      // "not ready" back.
      wallet: wallet === 'ready' && !app ? 'starting' : wallet,
      vault: existsSync(vaultPath),
      seed: { stored: seedStored, confirmed: p ? existsSync(p.seedConfirmed) : false },
      macaroons: macaroonConsumers.map((consumer) => ({
        consumer,
        present: p ? existsSync(macaroonPath(p.stackDir, consumer)) : false,
        permissions: macaroonFor(consumer).permissions,
      })),
      ...(node ? { node } : {}),
      ...(backup ? { channelBackup: backup } : {}),
      ...(restoring || restoredInfo(p?.restored)
        ? { restore: { needsPassword: restoring, ...(restoring ? {} : restoredInfo(p?.restored)) } }
        : {}),
      ...(problem ? { problem: toUserError(problem) } : {}),
    }
  }

  const publish = () => {
    const s = status()
    const key = JSON.stringify(s)
    if (key === lastPublished) return s
    lastPublished = key
    const event: LightningEvent = { topic: 'lightning', type: 'status', status: s }
    ctx.events.publish(event)
    return s
  }

  const endpointFor = async (s: Settings): Promise<LndEndpoint> => {
    if (options.endpoint) return options.endpoint(s)
    const secrets = await loadOrCreateStackSecrets(s.dataDir)
    return { socket: `127.0.0.1:${servicePorts.lndGrpc}`, cert: secrets.lndTls.certPem }
  }

  const closeClients = () => {
    invoiceSub?.removeAllListeners()
    invoiceSub = undefined
    stopBackups?.()
    stopBackups = undefined
    stopChannelEvents?.()
    stopChannelEvents = undefined
    unlocker?.close()
    unlocker = undefined
    unlockerKey = ''
    app?.close()
    app = undefined
  }

  const connectApp = (endpoint: LndEndpoint, stackDir: string) => {
    if (app) return app
    const macaroon = readMacaroon(stackDir, 'app')
    if (!macaroon) return undefined
    app = new LndClient({ socket: endpoint.socket, cert: endpoint.cert, macaroon })
    return app
  }

  const bake = async (endpoint: LndEndpoint, adminMacaroonFile: string, stackDir: string) => {
    // Every pass of the loop comes here; an admin client (ln-service loads all of LND's protos
    // for each one) only when there is something to bake.
    if (missingMacaroons(stackDir).length === 0) return []
    let admin: Buffer
    try {
      admin = readFileSync(adminMacaroonFile)
    } catch (err) {
      throw new FlashError(
        'lightning.no_admin_macaroon',
        'The Lightning node has not written its admin access key, so Flash Box cannot make the keys for the mint, BTCPay and this app.',
        'Restart the Lightning node from the dashboard; it writes the key when its wallet is unlocked.',
        { cause: err },
      )
    }
    redact(admin.toString('hex'))
    const { lnd } = ln.authenticatedLndGrpc({
      cert: Buffer.from(endpoint.cert).toString('base64'),
      macaroon: admin.toString('hex'),
      socket: endpoint.socket,
    })
    try {
      return await bakeMissingMacaroons(lnd, stackDir, log)
    } finally {
      for (const svc of Object.values(lnd) as { close?: () => void }[]) svc.close?.()
    }
  }

  const nodeView = async (client: LndClient, s: Settings): Promise<LightningStatus['node']> => {
    const info = await client.guard('getWalletInfo', ln.getWalletInfo({ lnd: client.lnd }))
    return {
      publicKey: info.public_key,
      alias: info.alias,
      uri: info.uris?.[0] ?? `${info.public_key}@127.0.0.1:${servicePorts.lndP2p}`,
      network: s.network,
      blockHeight: info.current_block_height,
      syncedToChain: info.is_synced_to_chain,
      activeChannels: info.active_channels_count,
      peers: info.peers_count,
    }
  }

  // Invoices settle while nobody is looking: LND's SubscribeInvoices stream feeds the engine's
  // event stream, so the page shows “paid” the moment LND settles (no polling).
  const followInvoices = (client: LndClient) => {
    if (invoiceSub) return
    const sub = ln.subscribeToInvoices({ lnd: client.lnd })
    invoiceSub = sub
    sub.on('invoice_updated', (i: Parameters<typeof views.invoiceView>[0]) => {
      publishInvoice(views.invoiceView(i))
    })
    sub.on('error', (err: unknown) => {
      sub.removeAllListeners()
      if (invoiceSub === sub) invoiceSub = undefined
      // The next pass of the loop subscribes again.
      log.warn('invoice updates from LND stopped; reconnecting', {
        error: lndError('subscribeToInvoices', err).message,
      })
    })
  }

  const requireApp = (): Lightning.AuthenticatedLnd => {
    if (app && wallet === 'ready') return app.lnd
    throw (
      problem ??
      new FlashError(
        'lightning.not_ready',
        wallet === 'disabled'
          ? 'Lightning is not part of this box’s stack.'
          : 'The Lightning node is not ready yet.',
        wallet === 'disabled'
          ? 'Turn on Lightning (LND) in Settings, then start the stack.'
          : 'Wait until the Lightning page shows the node as ready; it may still be starting.',
      )
    )
  }

  const liquidity = new Liquidity({
    dir: join(ctx.dataDir, 'lightning'),
    lnd: requireApp,
    log: log.child('liquidity'),
    publish: (view) =>
      ctx.events.publish({ topic: 'lightning', type: 'liquidity', liquidity: view }),
    ...(options.now ? { now: options.now } : {}),
  })

  const saga = new PaymentSaga({
    store,
    lnd: requireApp,
    log,
    onUpdate: publishPayment,
  })

  // LND refuses to pay an invoice of its own node ("no self-payments"): on a box whose mint and
  // shop share this node, such an invoice is settled inside the box instead — one of the box's
  // eCash quotes at its own mint, or an open sale of its shop (the merchant module's
  // settleOwnInvoice) — and anything else is refused in words, before the payment saga.
  let ownKey: { lnd: Lightning.AuthenticatedLnd; key: string } | undefined
  const ownNodeKey = async (lnd: Lightning.AuthenticatedLnd): Promise<string> => {
    if (ownKey?.lnd !== lnd) ownKey = { lnd, key: (await ln.getIdentity({ lnd })).public_key }
    return ownKey.key
  }
  const selfPayment = async (p: {
    request: string
    hash: string
    amountSat: number
    feeLimitSat: number
    destination: string
  }): Promise<PaymentView | undefined> => {
    if (p.destination !== (await ownNodeKey(requireApp()))) return undefined
    const merchant = ctx.modules.get('merchant') as
      | { settleOwnInvoice?: (bolt11: string) => Promise<'mint-quote' | 'sale' | undefined> }
      | undefined
    const how = await merchant?.settleOwnInvoice?.(p.request)
    if (!how)
      throw new FlashError(
        'lightning.self_payment',
        'This invoice was made by this box’s own Lightning node; a node cannot pay itself. It is neither an eCash quote of this box’s own mint nor an open sale of its shop, so nothing was paid.',
        'Pay it from another wallet. To turn the box’s Lightning sats into eCash, use “Receive via Lightning” on the eCash page.',
      )
    log.info('own invoice settled inside the box', { hash: p.hash, how })
    // In the payment history like any other payment (and "already paid" if asked again).
    const row = store.recordSettledInside({
      hash: p.hash,
      request: p.request,
      amount_sat: p.amountSat,
      fee_limit_sat: p.feeLimitSat,
      destination: p.destination,
      description:
        how === 'mint-quote'
          ? 'Settled inside this box: eCash from its own mint (no Lightning payment)'
          : 'Settled inside this box: a sale of its own shop (no Lightning payment)',
    })
    return paymentView(row)
  }

  const stepOnce = async (): Promise<void> => {
    try {
      settings = loadSettings(ctx.dataDir)
    } catch (err) {
      settings = null
      problem = err as FlashError
      wallet = 'disabled'
      return
    }
    if (!settings || !settings.services.lnd) {
      wallet = 'disabled'
      problem = undefined
      node = undefined
      closeClients()
      return
    }
    const p = lightningPaths(settings)
    const endpoint = await endpointFor(settings)
    const key = `${endpoint.socket}|${endpoint.cert}`
    if (key !== unlockerKey) {
      closeClients()
      unlocker = lndWalletUnlocker(endpoint)
      unlockerKey = key
    }
    const secrets = await loadOrCreateStackSecrets(settings.dataDir)
    if (restoreMaterial && restoreMaterial.until < Date.now()) restoreMaterial = undefined
    const result = await walletStep({
      lnd: unlocker!,
      files: p,
      vault: readSeedVault(vaultPath),
      walletPassword: secrets.lndWalletPassword,
      log,
      ...(restoreMaterial ? { restore: restoreMaterial.value } : {}),
    })
    restoring = !!result.restoring
    if (result.action === 'restored') {
      const channels = readBackupInfo(p.channelBackup)?.channels ?? 0
      restoreMaterial = undefined
      writeSecretFileAtomic(
        p.restored,
        JSON.stringify({ restoredAt: new Date().toISOString(), channels }) + '\n',
      )
    }
    if (result.action === 'created' || result.action === 'restored') {
      // A new wallet has a new macaroon root key: keys baked for an older one are worthless.
      removeMacaroons(p.stackDir)
      app?.close()
      app = undefined
    }
    wallet = result.state
    problem =
      wallet === 'locked'
        ? new FlashError(
            'lightning.locked',
            'The Lightning wallet is locked: its password file is missing, so it could not unlock itself after the restart.',
            'Press “Unlock” on the Lightning page; Flash Box unlocks it with the password it keeps for it.',
          )
        : wallet === 'waiting_for_owner' && restoring
          ? new FlashError(
              'lightning.restore_needs_owner',
              'The Lightning wallet is waiting to be restored from your backup: Flash Box needs your password to open its recovery words and channel backup.',
              'Open the Lightning page and enter your password. The channels in the backup are then closed by their peers, and the funds come back to the Lightning wallet on chain.',
            )
          : wallet === 'waiting_for_owner'
            ? new FlashError(
                'lightning.needs_owner',
                'The Lightning wallet is not created yet: Flash Box needs your password once to keep its recovery words encrypted.',
                'Open the Lightning page and enter your password.',
              )
            : undefined
    if (wallet !== 'ready') {
      node = undefined
      return
    }
    const baked = await bake(endpoint, p.adminMacaroon, p.stackDir)
    if (baked.length > 0)
      ctx.events.publish({ topic: 'lightning', type: 'status', status: status() })
    const client = connectApp(endpoint, p.stackDir)
    if (client) {
      try {
        const height = node?.blockHeight
        node = await nodeView(client, settings)
        // A new block changes pending channels' confirmations: the page asks for them again.
        if (height !== undefined && height !== node?.blockHeight) publishChannels()
        followInvoices(client)
        stopChannelEvents ??= followChannelEvents({
          lnd: client.lnd,
          log,
          onChange: publishChannels,
          onError: () => {
            stopChannelEvents = undefined
          },
        })
        if (!stopBackups) {
          stopBackups = followChannelBackups({
            lnd: client.lnd,
            path: p.channelBackup,
            vault: () => readSeedVault(vaultPath),
            log,
            onWritten: (info) => {
              ctx.events.publish({ topic: 'lightning', type: 'channel-backup', ...info })
              publish()
            },
            // The next pass of the loop subscribes again (not at once: an LND that refuses the
            // stream must not be asked in a tight loop).
            onError: () => {
              stopBackups = undefined
            },
          })
        }
        await saga.reconcile()
        try {
          await liquidity.pass()
        } catch (err) {
          // The liquidity loop never stops the node's own loop; the next pass looks again.
          log.warn('liquidity pass failed', { error: (err as Error).message })
        }
      } catch (err) {
        if (err instanceof FlashError && err.code === 'lnd.auth') {
          // The app's key no longer matches this wallet: bake it again next step.
          removeMacaroons(p.stackDir)
          app?.close()
          app = undefined
        }
        throw err
      }
    }
  }

  const reconcile = (): Promise<LightningStatus> => {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        try {
          await stepOnce()
        } catch (err) {
          problem =
            err instanceof FlashError
              ? err
              : new FlashError(
                  'lightning.error',
                  `Flash Box could not finish setting up the Lightning node: ${(err as Error).message}`,
                  'It tries again by itself. If this stays, open the Lightning node’s logs from the dashboard.',
                )
          log.warn(problem.message, { code: problem.code })
        }
      } while (again && !stopped)
      return publish()
    })().finally(() => {
      running = undefined
    })
    return running
  }

  const schedule = () => {
    if (stopped) return
    clearTimeout(timer)
    const ms =
      wallet === 'ready' && !problem ? (options.readyPollMs ?? 15_000) : (options.pollMs ?? 2_000)
    timer = setTimeout(() => {
      void reconcile().finally(schedule)
    }, ms)
    timer.unref?.()
  }

  const box = boxKeyFor(ctx.dataDir)
  const ensureVault = async (password: string): Promise<void> => {
    const existing = readSeedVault(vaultPath)
    if (existing) {
      await openSeedVault(existing, password, box) // throws on a wrong password
      // Made before the box key existed: move its key under the box key (same key pair).
      if (await migrateSeedVaultFile(vaultPath, password, box))
        log.info('seed vault moved under the box key')
      return
    }
    storeOnce(vaultPath, await createSeedVault(password, box))
    log.info(
      box.unlocked
        ? 'seed vault made under the box key'
        : 'seed vault made from the owner password',
    )
  }

  /** A restored box: opens the backed-up words and channel backup for the next step. */
  const openRestoreMaterial = async (password: string): Promise<boolean> => {
    const p = paths()
    const vault = readSeedVault(vaultPath)
    const sealed = p ? readSealedSeed(p.sealedSeed) : null
    if (!p || !restoring || !vault || !sealed) return false
    const words = await openSeed(vault, sealed, password, box)
    redact(words.join(' '))
    const scb = existsSync(p.channelBackup)
      ? await openChannelBackup(p.channelBackup, vault, password, box)
      : null
    restoreMaterial = {
      value: { words, ...(scb ? { channelBackup: scb } : {}) },
      until: Date.now() + 10 * 60_000,
    }
    return true
  }

  const checkOwnerPassword = async (password: string): Promise<void> => {
    if (await owner.isSet()) {
      if (!(await owner.verify(password))) {
        throw new FlashError(
          'lightning.wrong_password',
          'That is not the owner password.',
          'Type the password you use to log in to Flash Box.',
        )
      }
      return
    }
    const parsed = PasswordSchema.safeParse(password)
    if (!parsed.success) {
      throw new FlashError(
        'lightning.password_too_short',
        'Choose a password of at least 10 characters to protect the recovery words.',
        'A few unrelated words make a strong password that is easy to remember.',
      )
    }
  }

  const requirePaths = () => {
    const p = paths()
    if (!p) {
      throw new FlashError(
        'lightning.disabled',
        'Lightning is not part of this box’s stack.',
        'Turn on Lightning (LND) in Settings, then start the stack.',
      )
    }
    return p
  }

  const network = () => settings?.network ?? 'regtest'

  const handlers: Handlers = {
    status: async () => status(),
    nodeUri: async () => {
      requireApp()
      // The wallet turns ready a moment before the loop reads the node's identity: read it now
      // rather than answer "not ready" to a page that was just told it is.
      if (!node && app && settings) node = await nodeView(app, settings)
      if (!node)
        throw new FlashError(
          'lightning.not_ready',
          'The Lightning node is not ready yet.',
          'Wait a moment and try again.',
        )
      const qr = await qrDataUrl(node.uri)
      return { uri: node.uri, ...(qr ? { qr } : {}) }
    },
    balances: async () => views.balances(requireApp()),
    newAddress: async () => {
      const { address } = await ln.createChainAddress({ lnd: requireApp(), format: 'p2wpkh' })
      const qr = await qrDataUrl(`bitcoin:${address}`)
      return { address, ...(qr ? { qr } : {}) }
    },
    limits: async () => loadLimits(),
    setLimits: async (input) => {
      writeFileAtomicSync(limitsPath, JSON.stringify(input, null, 2) + '\n', 0o600)
      limitsRead = undefined
      return loadLimits()
    },
    createInvoice: async (input) => {
      const invoice = await views.createInvoice(requireApp(), input)
      const qr = await qrDataUrl(invoice.request, { uppercase: true })
      return { ...invoice, ...(qr ? { qr } : {}) }
    },
    decodeInvoice: async ({ request }) => {
      requireApp()
      return views.decodeInvoice(request, network(), loadLimits())
    },
    pay: async ({ request, amountSat, feeLimitSat }) => {
      requireApp()
      const limits = loadLimits()
      const decoded = views.decodeInvoice(request, network(), limits)
      if (saga.alreadyPaid(decoded.id)) throw alreadyPaid()
      const amount = views.checkPayable(decoded, amountSat, limits)
      const inside = await selfPayment({
        request: request.toLowerCase(),
        hash: decoded.id,
        amountSat: amount,
        feeLimitSat,
        destination: decoded.payee,
      })
      if (inside) return inside
      const view = await saga.pay({
        request: request.toLowerCase(),
        hash: decoded.id,
        amountSat: amount,
        ...(decoded.amountSat === null ? { amountForAmountless: amount } : {}),
        feeLimitSat,
        destination: decoded.payee,
        description: decoded.description,
      })
      return views.withFailureText(view)
    },
    invoices: async () => views.invoices(requireApp()),
    payments: async () => {
      const lnd = requireApp()
      const ours = store.list().map((r) => views.withFailureText(paymentView(r)))
      const known = new Set(ours.map((p) => p.id))
      const { payments } = await ln.getPayments({ lnd, limit: 500 })
      const others = payments.filter((p) => !known.has(p.id)).map(views.lndPaymentView)
      return [...ours, ...others].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    },
    peers: async () => views.peers(requireApp()),
    connectPeer: async ({ uri }) => {
      const lnd = requireApp()
      await views.connectPeer(lnd, uri)
      return views.peers(lnd)
    },
    channels: async () => views.channels(requireApp()),
    openChannel: async (input) => {
      const lnd = requireApp()
      await views.openChannel(lnd, input)
      ctx.events.publish({ topic: 'lightning', type: 'channels' })
      return views.channels(lnd)
    },
    closeChannel: async ({ fundingOutpoint, force }) => {
      const lnd = requireApp()
      await views.closeChannel(lnd, { fundingOutpoint, force })
      log.info(force ? 'channel force-closed by the owner' : 'channel closed by the owner', {
        channel: fundingOutpoint,
      })
      ctx.events.publish({ topic: 'lightning', type: 'channels' })
      return views.channels(lnd)
    },
    liquidity: async () => {
      requireApp()
      return liquidity.view()
    },
    setLiquiditySettings: async (input) => {
      requireApp()
      return liquidity.setSettings(input)
    },
    previewRebalance: async (input) => {
      requireApp()
      return liquidity.preview(input)
    },
    rebalance: async ({ outChannel, inChannel, amountSat, maxFeeSat }) => {
      requireApp()
      return liquidity.rebalance({ outChannel, inChannel, amountSat, maxFeeSat })
    },
    rebalanceLog: async () => liquidity.attempts(),
    protectSeed: async ({ password }) => {
      await checkOwnerPassword(password)
      await ensureVault(password)
      await openRestoreMaterial(password)
      return reconcile()
    },
    revealSeed: async ({ password }) => {
      const p = requirePaths()
      if (existsSync(p.seedConfirmed)) {
        throw new FlashError(
          'lightning.seed_already_shown',
          'The recovery words were already shown and checked; Flash Box does not show them again.',
          'They stay stored encrypted for a restore. If you lost your paper copy, move your funds to a new wallet.',
        )
      }
      await checkOwnerPassword(password)
      const vault = readSeedVault(vaultPath)
      const sealed = readSealedSeed(p.sealedSeed)
      if (!vault || !sealed) {
        throw new FlashError(
          'lightning.no_seed',
          'There are no recovery words to show yet: the Lightning wallet is not created.',
          'Wait until the Lightning page shows the wallet as ready, then try again.',
        )
      }
      const words = await openSeed(vault, sealed, password, box)
      redact(words.join(' '))
      const positions: number[] = []
      while (positions.length < Math.min(SEED_CHECK_WORDS, words.length)) {
        const n = randomInt(1, words.length + 1)
        if (!positions.includes(n)) positions.push(n)
      }
      positions.sort((a, b) => a - b)
      check = {
        positions,
        hashes: positions.map((n) => hashWord(words[n - 1]!)),
        until: Date.now() + SEED_CHECK_TTL_MS,
      }
      return { words, check: positions }
    },
    confirmSeed: async ({ answers }) => {
      const p = requirePaths()
      if (!check || check.until < Date.now()) {
        check = undefined
        throw new FlashError(
          'lightning.seed_check_expired',
          'There is no word check open.',
          'Show the recovery words again (with your password), write them down, then do the check.',
        )
      }
      const open = check
      const wrong = open.positions.filter((pos, i) => {
        const a = answers.find((x) => x.position === pos)
        return !a || hashWord(a.word) !== open.hashes[i]
      })
      if (wrong.length > 0) {
        throw new FlashError(
          'lightning.seed_check_failed',
          `Word ${wrong.join(', ')} does not match what you were shown.`,
          'Check your paper copy; show the words again if you need to.',
        )
      }
      check = undefined
      writeFileAtomicSync(
        p.seedConfirmed,
        JSON.stringify({ confirmedAt: new Date().toISOString() }) + '\n',
        0o600,
      )
      return publish()
    },
    unlock: async () => {
      const p = requirePaths()
      if (!settings || !unlocker)
        throw new FlashError(
          'lightning.not_running',
          'The Lightning node is not running.',
          'Start the stack from the dashboard.',
        )
      const state = await unlocker.state()
      if (state !== 'locked') return reconcile()
      const secrets = await loadOrCreateStackSecrets(settings.dataDir)
      await unlocker.unlock(secrets.lndWalletPassword)
      // Put the password file back so the next restart unlocks by itself again.
      writeSecretFileAtomic(p.passwordFile, secrets.lndWalletPassword)
      log.info('Lightning wallet unlocked by the owner')
      return reconcile()
    },
  }

  return {
    name: 'lightning',
    handlers,
    reconcile,
    appLnd: () => app?.lnd,
    liquidityPass: () => {
      requireApp()
      return liquidity.pass()
    },
    network,
    async preparePayment(request, amountSat) {
      requireApp()
      const limits = loadLimits()
      const plain = request
        .trim()
        .replace(/^lightning:/i, '')
        .toLowerCase()
      const decoded = views.decodeInvoice(plain, network(), limits)
      if (saga.alreadyPaid(decoded.id)) throw alreadyPaid()
      const amount = views.checkPayable(decoded, amountSat, limits)
      return {
        request: plain,
        hash: decoded.id,
        amountSat: amount,
        amountless: decoded.amountSat === null,
        feeLimitSat: views.suggestedFeeLimit(amount, limits),
        destination: decoded.payee,
        description: decoded.description,
      }
    },
    async sendPayment(p, waitMs) {
      const lnd = requireApp()
      const inside = await selfPayment(p)
      if (inside) return inside
      const view = await saga.pay(
        {
          request: p.request,
          hash: p.hash,
          amountSat: p.amountSat,
          ...(p.amountless ? { amountForAmountless: p.amountSat } : {}),
          feeLimitSat: p.feeLimitSat,
          destination: p.destination,
          description: p.description,
        },
        waitMs,
      )
      if (view.state !== 'succeeded') return views.withFailureText(view)
      const paid = await ln.getPayment({ lnd, id: p.hash }).catch(() => undefined)
      // Handed to the caller only (an NWC app's pay_invoice answer); never logged or stored here.
      const preimage = paid?.payment?.secret
      return { ...view, ...(preimage ? { preimage } : {}) }
    },
    paymentState(hash) {
      const row = store.get(hash)
      return row ? views.withFailureText(paymentView(row)) : undefined
    },
    async ownerPasswordEntered(password) {
      try {
        const existing = readSeedVault(vaultPath)
        if (existing) {
          // Made before the box key existed: move its key under the box key (same key pair).
          if (await migrateSeedVaultFile(vaultPath, password, box))
            log.info('seed vault moved under the box key')
          if (await openRestoreMaterial(password)) void reconcile()
          return
        }
        await ensureVault(password)
        void reconcile()
      } catch (err) {
        log.warn('could not make the seed vault', { error: (err as Error).message })
      }
    },
    async start() {
      unsubscribe = ctx.events.subscribe(
        (e) => {
          if (changesPlacement(e) && e.topic === 'stack' && e.type !== 'sync') void reconcile()
        },
        ['stack'],
      )
      await reconcile()
      schedule()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      unsubscribe?.()
      saga.close()
      await running
      closeClients()
      store.close()
      liquidity.close()
    },
  }
}
