// The 'walletService' engine module (src/shared/api/wallet-service.ts): the box's LND served to
// the owner's apps over Nostr Wallet Connect, and to the public as a Lightning address with zaps.
//   - keys: one wallet-service key per connection and the zapper key, in one secret file sealed
//     under the box key (wallet-service-keys.ts); an app's own secret is never stored — it is in
//     the connection string shown once;
//   - the NWC loop listens on the box's relay and each connection's relays for requests to any
//     connection's key, publishes each connection's info event, and settles budget reservations;
//   - the Lightning address answers through the headless server's public routes (server.ts);
//   - zap receipts are published when LND reports the invoice paid (the Lightning module's
//     invoice stream), and on the next pass for any settled while the box was down.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { z } from 'zod'
import type {
  LightningAddressView,
  NwcConnectionView,
  walletServiceApi,
} from '../../shared/api/wallet-service'
import { writeFileAtomicSync } from '../atomic-file'
import type { EngineContext, EngineModule, EngineModuleFactory } from '../engine/module'
import { FlashError, toUserError } from '../errors'
import { redact } from '../log'
import { qrDataUrl } from '../ecash/qr'
import { relayUrlOf } from '../nostr/nostr-module'
import { RelayPool } from '../nostr/relay-pool'
import { boxKeyFor } from '../secrets/box-key'
import { WalletServiceKeys } from './wallet-service-keys'
import { publishedUrls } from '../reach/public-address'
import { boxPublicRelayUrl, lightningAddressHome, lightningAddressOf } from './box-url'
import type { LightningModule } from './lightning-module'
import {
  LightningAddressStore,
  LnurlError,
  lnurlErrorResponse,
  lnurlJson,
  metadataOf,
  parseCallback,
  payRequest,
  sha256Hex,
  COMMENT_ALLOWED,
  type LnurlHttpResponse,
} from './lud06-lnurl-pay'
import {
  acceptableRequest,
  connectionUri,
  decryptRequest,
  infoEvent,
  isNwcMethod,
  NwcError,
  REQUEST_KIND,
  requestEncryption,
  responseEvent,
  type NwcResponse,
} from './nip47-wallet-service'
import { validateZapRequest, zapReceipt } from './nip57-zaps'
import { NwcConnectionStore, type Connection } from './nwc-connections'
import { NwcWallet } from './nwc-wallet'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

export interface WalletServiceOptions {
  /** Loop period (ms): info events, reservations, zap receipts. Default 10 s. */
  readonly loopMs?: number
  /** Requests per minute one connection may send (token bucket; burst = this / 4, at least 5). */
  readonly requestsPerMinute?: number
  /** How long pay_invoice waits for the outcome before answering “in flight” (ms). */
  readonly payWaitMs?: number
  /** Invoices the Lightning address makes per minute, for everyone together (default 120). */
  readonly addressInvoicesPerMinute?: number
  /** Relay pool timings (tests). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number }
}

export interface WalletServiceModule extends EngineModule<typeof walletServiceApi> {
  /** The headless server tells where it listens (the Lightning address’s home without a reach setting). */
  servedAt(url: string): void
  /** GET /.well-known/lnurlp/<name> (LUD-16). */
  lnurlpResponse(name: string): Promise<LnurlHttpResponse>
  /** GET /lnurlp/<name>/callback?amount=…[&comment=…][&nostr=…] (LUD-06). */
  lnurlCallback(name: string, query: URLSearchParams): Promise<LnurlHttpResponse>
  /** One pass of the loop now (tests). */
  tick(): Promise<void>
}

const AddressSchema = z.object({
  enabled: z.boolean(),
  name: z.string(),
  minSendableSat: z.number().int(),
  maxSendableSat: z.number().int(),
})
type AddressConfig = z.infer<typeof AddressSchema>
const DEFAULT_ADDRESS: AddressConfig = {
  enabled: false,
  name: 'pay',
  minSendableSat: 1,
  maxSendableSat: 1_000_000,
}

/** Zap invoices older than this no longer get receipts looked for (they expired long ago). */
const ZAP_LOOKBACK_MS = 2 * 86_400_000
const ZAP_INVOICE_EXPIRY_S = 600
const MAX_RECEIPT_ATTEMPTS = 20

export function walletServiceModule(options: WalletServiceOptions = {}): EngineModuleFactory {
  return (ctx) => createWalletServiceModule(ctx, options)
}

export function createWalletServiceModule(
  ctx: EngineContext,
  options: WalletServiceOptions = {},
): WalletServiceModule {
  const log = ctx.log.child('wallet-service')
  const dir = join(ctx.dataDir, 'lightning')
  const keysPath = join(ctx.dataDir, 'secrets', 'wallet-service-keys.json')
  const addressPath = join(dir, 'lightning-address.json')
  const store = new NwcConnectionStore(join(dir, 'nwc.db'))
  const addresses = new LightningAddressStore(join(dir, 'lightning-address.db'))
  let servedUrl: string | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let unsubscribe: (() => void) | undefined
  let stopWatchingUnlock: (() => void) | undefined
  const infoDelivered = new Set<string>()
  const buckets = new Map<string, { tokens: number; at: number }>()
  const perMinute = options.requestsPerMinute ?? 60
  const burst = Math.max(5, Math.floor(perMinute / 4))

  // --- keys --------------------------------------------------------------------------------
  // Sealed under the box key: while it is locked, requests are not answered and receipts wait.
  const box = boxKeyFor(ctx.dataDir)
  const keyStore = new WalletServiceKeys(keysPath, box)
  const zapperSk = () => hexToBytes(keyStore.require().zapper)
  const zapperPubkey = () => keyStore.zapperPubkey()
  const serviceSk = (c: Connection): Uint8Array | undefined => {
    const hex = keyStore.get()?.connections[c.id]
    return hex ? hexToBytes(hex) : undefined
  }

  // --- relays ------------------------------------------------------------------------------
  const pool = new RelayPool({
    log,
    // NIP-42 sign-in (a relay that asks before it passes requests on) with the zapper key.
    authSigner: () => async (t) => finalizeEvent(t, zapperSk()),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  })
  const localRelay = () => relayUrlOf(ctx.modules.get('relay'))
  /**
   * The box relay's address as apps are told it: the relay URL Settings → Reachability publishes
   * (a phone reaches the box there), else the local URL (or FLASHBOX_PUBLIC_RELAY_URL).
   */
  const appRelayUrl = () => publishedUrls(ctx.dataDir).relay ?? boxPublicRelayUrl(localRelay())
  /**
   * Where the service itself reaches relays: the box's own relay — under the addresses apps are
   * given for it now, or under the one a connection recorded when it was made — over its local
   * URL, not out through the front door and back (which a router without NAT loopback does not
   * allow); any other relay as it is. Reads the published address once, for a whole pass.
   */
  const serviceRelayMap = (): ((url: string, recorded?: string | null) => string) => {
    const local = localRelay()
    if (!local) return (url) => url
    const own = new Set(
      [publishedUrls(ctx.dataDir).relay, boxPublicRelayUrl(local)].flatMap((o) =>
        o === undefined ? [] : [RelayPool.normalize(o)],
      ),
    )
    return (url, recorded) => {
      const n = RelayPool.normalize(url)
      return own.has(n) || (recorded != null && RelayPool.normalize(recorded) === n) ? local : url
    }
  }
  const serviceRelays = (c: Connection, toService = serviceRelayMap()) => [
    ...new Set(c.relays.map((url) => toService(url, c.boxRelay))),
  ]
  /**
   * Where apps reach the box's relay now, for a live connection that was given another address
   * for it (the address changed in Settings → Reachability since): an app may no longer reach
   * the wallet through the old one.
   */
  const boxRelayNow = (c: Connection): string | undefined => {
    if (c.boxRelay === null || c.revokedAt !== null || !localRelay()) return undefined
    const now = appRelayUrl()
    return now && RelayPool.normalize(now) !== RelayPool.normalize(c.boxRelay) ? now : undefined
  }
  /**
   * Points the pool at every relay the service needs: the box's own (locally) and each
   * connection's. In the same pass, a connection made before the box kept which relay was its
   * own has the one that is the box's under the current address recorded, so a later change of
   * address does not lose it.
   */
  const refreshRelays = () => {
    const urls = new Set<string>()
    const box = localRelay()
    if (box) urls.add(box)
    const toService = serviceRelayMap()
    for (const c of store.list()) {
      if (box && c.boxRelay === null) {
        const own = c.relays.find((url) => toService(url) === box)
        if (own) store.setBoxRelay(c.id, own)
      }
      for (const r of serviceRelays(c, toService)) urls.add(r)
    }
    pool.setRelays([...urls])
  }

  const publishChanged = () => ctx.events.publish({ topic: 'walletService', type: 'changed' })

  const lightning = () => ctx.modules.get('lightning') as LightningModule | undefined
  const wallet = new NwcWallet({
    lightning,
    store,
    log,
    onChange: publishChanged,
    ...(options.payWaitMs ? { payWaitMs: options.payWaitMs } : {}),
  })

  /** Token buckets: `perMinute` refill, `size` at most. */
  const take = (key: string, rate: number, size: number): boolean => {
    const now = Date.now()
    const b = buckets.get(key) ?? { tokens: size, at: now }
    b.tokens = Math.min(size, b.tokens + ((now - b.at) / 60_000) * rate)
    b.at = now
    buckets.set(key, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
  const allowed = (connectionId: string) => take(`nwc:${connectionId}`, perMinute, burst)
  // The callback is public: without a limit, anyone could make the node create invoices nonstop.
  const invoiceRate = options.addressInvoicesPerMinute ?? 120
  const addressInvoiceAllowed = () =>
    take('lnurl', invoiceRate, Math.max(5, Math.floor(invoiceRate / 4)))

  const respond = async (
    c: Connection,
    sk: Uint8Array,
    ev: Event,
    encryption: 'nip44_v2' | 'nip04',
    response: NwcResponse,
  ) => {
    const out = responseEvent(sk, ev, encryption, response)
    const delivered = await pool.publish(out, serviceRelays(c))
    if (!delivered.some((d) => d.status === 'ok')) {
      log.warn('an NWC response reached no relay', {
        connection: c.id,
        relays: delivered.map((d) => `${d.relay}: ${d.status}`).join(', '),
      })
    }
  }

  const onRequest = async (ev: Event) => {
    if (stopped || !acceptableRequest(ev)) return
    const servicePubkey = ev.tags.find((t) => t[0] === 'p')?.[1]
    if (!servicePubkey) return
    const c = store.byServicePubkey(servicePubkey)
    if (!c) return
    const sk = serviceSk(c)
    if (!sk) return
    // Requests from before the connection existed, or taken already, are not run (again).
    if (ev.created_at * 1000 < c.createdAt - 60_000) return
    if (!store.takeRequest(ev.id)) return
    const encryption = requestEncryption(ev)
    const error = (code: NwcError['code'], message: string, method = 'unknown') =>
      respond(c, sk, ev, encryption ?? 'nip44_v2', {
        result_type: method,
        error: { code, message },
        result: null,
      })
    if (!encryption) {
      return error('UNSUPPORTED_ENCRYPTION', 'The box speaks nip44_v2 (and nip04 for older apps).')
    }
    if (ev.pubkey !== c.clientPubkey) {
      return error('UNAUTHORIZED', 'This key is not connected to the wallet.')
    }
    let method = 'unknown'
    try {
      const req = decryptRequest(ev, sk, encryption)
      method = req.method
      if (c.revokedAt !== null) {
        throw new NwcError('UNAUTHORIZED', 'The owner revoked this connection.')
      }
      if (!allowed(c.id)) {
        throw new NwcError('RATE_LIMITED', 'Too many requests; try again in a few seconds.')
      }
      if (!isNwcMethod(req.method)) {
        throw new NwcError('NOT_IMPLEMENTED', `The box does not serve "${req.method}".`)
      }
      if (!c.methods.includes(req.method)) {
        throw new NwcError('RESTRICTED', `This connection may not use "${req.method}".`)
      }
      store.touch(c.id)
      const result = await wallet.call(c, req)
      if (stopped) return
      await respond(c, sk, ev, encryption, { result_type: method, error: null, result })
    } catch (err) {
      if (stopped) return
      const e =
        err instanceof NwcError ? err : new NwcError('INTERNAL', 'The wallet service failed.')
      if (!(err instanceof NwcError)) {
        log.error('NWC request failed', { method, error: (err as Error).message })
      }
      await error(e.code, e.message, method)
    }
  }

  const listen = () => {
    const pubkeys = store.list().map((c) => c.servicePubkey)
    if (pubkeys.length === 0) {
      pool.unsubscribe('nwc-requests')
      return
    }
    // Requests are ephemeral: only those arriving from now on (a minute of clock skew allowed).
    pool.subscribe(
      'nwc-requests',
      [{ kinds: [REQUEST_KIND], '#p': pubkeys, since: Math.floor(Date.now() / 1000) - 60 }],
      (ev) => {
        void onRequest(ev).catch((err: unknown) =>
          log.warn('NWC request dropped', { error: (err as Error).message }),
        )
      },
    )
  }

  const publishInfo = async () => {
    const toService = serviceRelayMap()
    for (const c of store.list()) {
      if (c.revokedAt !== null) continue
      const sk = serviceSk(c)
      if (!sk) continue
      const todo = serviceRelays(c, toService).filter(
        (r) => !infoDelivered.has(`${c.id}|${RelayPool.normalize(r)}`),
      )
      if (todo.length === 0) continue
      const delivered = await pool.publish(infoEvent(sk, c.methods), todo)
      for (const d of delivered) if (d.status === 'ok') infoDelivered.add(`${c.id}|${d.relay}`)
    }
  }

  // --- Lightning address and zaps ------------------------------------------------------------
  const loadAddress = (): AddressConfig => {
    try {
      return AddressSchema.parse(JSON.parse(readFileSync(addressPath, 'utf8')))
    } catch {
      return DEFAULT_ADDRESS
    }
  }
  const home = () => lightningAddressHome(publishedUrls(ctx.dataDir), servedUrl)

  const addressView = async (): Promise<LightningAddressView> => {
    const a = loadAddress()
    const h = home()
    const common = {
      enabled: a.enabled,
      name: a.name,
      minSendableSat: a.minSendableSat,
      maxSendableSat: a.maxSendableSat,
      commentAllowed: COMMENT_ALLOWED,
      zapperPubkey: zapperPubkey() ?? '',
    }
    if (!h) {
      return {
        ...common,
        problem: toUserError(
          new FlashError(
            'walletService.no_public_address',
            'This box has no web address for payers yet, so there is nothing to put after the “@”.',
            'Choose a public address or LAN mode under Settings → Reachability.',
          ),
        ),
      }
    }
    if (!h.domain) return { ...common, ...(h.problem ? { problem: toUserError(h.problem) } : {}) }
    const address = lightningAddressOf(a.name, h.domain)
    const qr = a.enabled ? await qrDataUrl(`lightning:${address}`) : undefined
    return {
      ...common,
      address,
      url: `${h.base}/.well-known/lnurlp/${a.name}`,
      ...(qr ? { qr } : {}),
    }
  }

  /** The Lightning address's home for LNURL answers: a plain 404/503 where there is none. */
  const addressHome = (): { base: string; domain: string } => {
    const h = home()
    if (!h) throw new LnurlError(503, 'The box does not know its public address yet.')
    // A Lightning address on a port wallets do not look at is not offered (published-urls.ts).
    if (!h.domain) throw new LnurlError(404, 'This box offers no Lightning address on this port.')
    return { base: h.base, domain: h.domain }
  }

  const activeAddress = (name: string): AddressConfig => {
    const a = loadAddress()
    if (!a.enabled || a.name !== name.toLowerCase()) {
      throw new LnurlError(404, 'There is no Lightning address by that name here.')
    }
    return a
  }

  const appLnd = () => {
    const lnd = lightning()?.appLnd()
    if (!lnd) throw new LnurlError(503, 'The Lightning node is not ready; try again later.')
    return lnd
  }

  const publishReceipt = async (hash: string): Promise<boolean> => {
    const row = addresses.get(hash)
    if (!row?.zap_request || row.receipt_at !== null) return false
    const lnd = lightning()?.appLnd()
    if (!lnd) return false
    const inv = await ln.getInvoice({ lnd, id: hash }).catch(() => undefined)
    if (!inv?.is_confirmed || !inv.request) return false
    const zap = JSON.parse(row.zap_request) as Event
    const relays = (zap.tags.find((t) => t[0] === 'relays') ?? []).slice(1)
    const receipt = zapReceipt(zapperSk(), {
      zapRequestJson: row.zap_request,
      bolt11: inv.request,
      paidAt: Math.floor(Date.parse(inv.confirmed_at ?? new Date().toISOString()) / 1000),
      preimage: inv.secret,
    })
    const targets = [...new Set([localRelay(), ...relays].filter((r): r is string => !!r))].slice(
      0,
      11,
    )
    addresses.attempted(hash)
    const delivered = await pool.publish(receipt, targets)
    if (delivered.some((d) => d.status === 'ok')) {
      addresses.receiptPublished(hash)
      log.info('zap receipt published', {
        hash,
        relays: delivered.filter((d) => d.status === 'ok').length,
      })
      return true
    }
    log.warn('zap receipt reached no relay; trying again later', { hash })
    return false
  }

  const lnurlpResponse = async (name: string): Promise<LnurlHttpResponse> => {
    try {
      const a = activeAddress(name)
      const { base, domain } = addressHome()
      return lnurlJson(
        payRequest({
          callback: `${base}/lnurlp/${a.name}/callback`,
          address: lightningAddressOf(a.name, domain),
          minSendableSat: a.minSendableSat,
          maxSendableSat: a.maxSendableSat,
          zapperPubkey: zapperPubkey(),
        }),
      )
    } catch (err) {
      if (err instanceof LnurlError) return lnurlErrorResponse(err)
      throw err
    }
  }

  const lnurlCallback = async (name: string, q: URLSearchParams): Promise<LnurlHttpResponse> => {
    try {
      const a = activeAddress(name)
      const { domain } = addressHome()
      const p = parseCallback(q, a)
      const zap = p.nostr !== undefined ? validateZapRequest(p.nostr, p.amountMsat) : undefined
      if (!addressInvoiceAllowed()) {
        throw new LnurlError(429, 'Too many payment requests right now; try again in a minute.')
      }
      const committed = zap ? p.nostr! : metadataOf(lightningAddressOf(a.name, domain))
      const lnd = appLnd()
      let created: Lightning.CreateInvoiceResult
      try {
        created = await ln.createInvoice({
          lnd,
          mtokens: String(p.amountMsat),
          description_hash: sha256Hex(committed),
          expires_at: new Date(Date.now() + ZAP_INVOICE_EXPIRY_S * 1000).toISOString(),
        })
      } catch (err) {
        log.warn('Lightning address: LND made no invoice', { error: JSON.stringify(err) })
        throw new LnurlError(503, 'The Lightning node could not make an invoice; try again later.')
      }
      addresses.add({
        hash: created.id,
        amountMsat: p.amountMsat,
        ...(p.comment ? { comment: p.comment } : {}),
        ...(zap ? { zapRequest: p.nostr! } : {}),
      })
      return lnurlJson({ pr: created.request, routes: [] })
    } catch (err) {
      if (err instanceof LnurlError) return lnurlErrorResponse(err)
      throw err
    }
  }

  // --- loop --------------------------------------------------------------------------------
  const tick = async () => {
    refreshRelays()
    if (!pool.hasSubscription('nwc-requests')) listen()
    wallet.reconcile()
    store.pruneRequests(Date.now() - 86_400_000)
    await publishInfo()
    if (stopped) return
    for (const z of addresses.pendingZaps(Date.now() - ZAP_LOOKBACK_MS)) {
      if (stopped) return
      if (z.attempts >= MAX_RECEIPT_ATTEMPTS) continue
      await publishReceipt(z.hash).catch(() => false)
    }
  }

  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      void tick()
        .catch((err: unknown) => log.warn('wallet service pass failed', { error: String(err) }))
        .finally(schedule)
    }, options.loopMs ?? 10_000)
    timer.unref?.()
  }

  const view = (c: Connection): NwcConnectionView => {
    const moved = boxRelayNow(c)
    return {
      id: c.id,
      name: c.name,
      methods: c.methods,
      budgetSat: c.budgetSat,
      budgetPeriod: c.budgetPeriod,
      ...wallet.usage(c),
      relays: c.relays,
      ...(moved ? { boxRelayNow: moved } : {}),
      servicePubkey: c.servicePubkey,
      createdAt: new Date(c.createdAt).toISOString(),
      ...(c.lastUsedAt ? { lastUsedAt: new Date(c.lastUsedAt).toISOString() } : {}),
      ...(c.revokedAt ? { revokedAt: new Date(c.revokedAt).toISOString() } : {}),
    }
  }

  return {
    name: 'walletService',
    servedAt(url) {
      servedUrl = url
    },
    lnurlpResponse,
    lnurlCallback,
    tick,
    async start() {
      stopWatchingUnlock = box.onUnlock(() => {
        try {
          if (keyStore.sealPlainFile()) log.info('wallet service keys moved under the box key')
        } catch (err) {
          log.warn('could not seal the wallet service keys', { error: (err as Error).message })
        }
        if (!stopped) void tick().catch(() => undefined)
      })
      unsubscribe = ctx.events.subscribe(
        (e) => {
          if (e.topic === 'lightning' && e.type === 'invoice' && e.invoice.state === 'paid') {
            void publishReceipt(e.invoice.id).catch(() => false)
          }
        },
        ['lightning'],
      )
      await tick().catch((err: unknown) =>
        log.warn('wallet service first pass failed', { error: String(err) }),
      )
      schedule()
    },
    async stop() {
      stopped = true
      stopWatchingUnlock?.()
      clearTimeout(timer)
      unsubscribe?.()
      wallet.close()
      pool.close()
      store.close()
      addresses.close()
    },
    handlers: {
      status: async () => ({
        relays: pool.health().map((h) => ({ url: h.url, connected: h.connected })),
        connections: store.list().filter((c) => c.revokedAt === null).length,
      }),
      connections: async () => store.list().map(view),
      createConnection: async (input) => {
        const box = localRelay() ? appRelayUrl() : boxPublicRelayUrl(undefined)
        const relays = [...new Set([...(box ? [box] : []), ...input.relays])]
        if (relays.length === 0) {
          throw new FlashError(
            'walletService.no_relay',
            'The box’s relay is not running, so an app would have no relay to reach the wallet through.',
            'Turn on the relay in Settings, or add a public relay for this connection.',
          )
        }
        const id = randomBytes(8).toString('hex')
        const serviceKey = generateSecretKey()
        const clientKey = generateSecretKey()
        const serviceHex = bytesToHex(serviceKey)
        const clientHex = bytesToHex(clientKey)
        redact(serviceHex)
        redact(clientHex)
        // The service key is on disk before the connection exists: a crash in between leaves
        // only an unused key.
        keyStore.addConnection(id, serviceHex)
        const c = store.create({
          id,
          name: input.name,
          servicePubkey: getPublicKey(serviceKey),
          clientPubkey: getPublicKey(clientKey),
          methods: input.methods,
          budgetSat: input.budgetSat,
          budgetPeriod: input.budgetPeriod,
          relays,
          boxRelay: box ?? null,
          createdAt: Date.now(),
        })
        log.info('NWC connection made', { connection: id, name: input.name })
        refreshRelays()
        listen()
        void publishInfo().catch(() => undefined)
        const a = loadAddress()
        const domain = home()?.domain
        const uri = connectionUri({
          servicePubkey: c.servicePubkey,
          relays,
          clientSecretHex: clientHex,
          ...(a.enabled && domain ? { lud16: lightningAddressOf(a.name, domain) } : {}),
        })
        const qr = await qrDataUrl(uri)
        publishChanged()
        return { connection: view(c), uri, ...(qr ? { qr } : {}) }
      },
      revokeConnection: async ({ id }) => {
        if (!store.get(id)) {
          throw new FlashError(
            'walletService.unknown_connection',
            'There is no such connection.',
            'Reload the Lightning page; it may have been removed.',
          )
        }
        if (store.revoke(id)) log.info('NWC connection revoked', { connection: id })
        publishChanged()
        return store.list().map(view)
      },
      lightningAddress: async () => addressView(),
      setLightningAddress: async (input) => {
        writeFileAtomicSync(addressPath, JSON.stringify(input, null, 2) + '\n', 0o600)
        publishChanged()
        return addressView()
      },
    },
  }
}
