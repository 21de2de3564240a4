// The merchant module: BTCPay set up by the box (btcpay-setup-saga.ts), its webhooks received and
// checked (btcpay-webhook.ts), the shop's invoices and sales kept in SQLite (merchant-store.ts),
// refunds and payouts through BTCPay's pull payments, rewards (rewards.ts) and a sale paid with
// the box's eCash (the eCash wallet's melt, behind a review step).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import type {
  BtcpayLogin,
  EcashPayResult,
  EcashPayReview,
  MerchantInvoice,
  MerchantPayout,
  MerchantPullPayment,
  MerchantSetupStep,
  MerchantStatus,
  merchantApi,
  RewardRule,
} from '../../shared/api/merchant'
import type {
  MeltQuoteView,
  MeltResult,
  MintQuoteView,
  SendResult as EcashSendResult,
} from '../../shared/api/ecash'
import type { PaymentView } from '../../shared/api/lightning'
import type { SendResult as NostrSendResult } from '../../shared/api/nostr'
import type { Alert } from '../../shared/api/stack'
import type { BoltcardModule } from '../boltcard/boltcard-module'
import type { EcashWallet } from '../ecash/wallet'
import type { ReceiveAddress, WalletStatus } from '../../shared/api/wallet'
import { writeFileAtomicSync } from '../atomic-file'
import { fileSnapshot } from '../file-snapshot'
import { loadSettings } from '../engine/stack-module'
import type { EngineModule, EngineModuleFactory, RequestContext } from '../engine/module'
import { FlashError, toUserError } from '../errors'
import { qrDataUrl } from '../ecash/qr'
import { OwnerPassword } from '../api/http/owner-password'
import { boxKeyFor } from '../secrets/box-key'
import { loadOrCreateStackSecrets } from '../secrets/stack-secrets'
import { macaroonPath } from '../stack/macaroons'
import { servicePorts } from '../stack/networks'
import type { HandlersOf } from '../../shared/api/procedure'
import {
  BtcpaySetup,
  readCredentials,
  readSetupRecord,
  SETUP_STEPS,
  setupPaths,
  STEP_TITLES,
  type LightningConnection,
  type SetupRecord,
  type SetupStep,
} from './btcpay-setup-saga'
import {
  INVOICE_STATUS_OF_EVENT,
  startWebhookReceiver,
  WEBHOOK_EVENTS,
  type BtcpayEvent,
} from './btcpay-webhook'
import { inSubnet, stackGateway, type StackGateway } from './webhook-route'
import { createDockerClient, dockerEndpoints, pickEndpoint } from '../docker/connect'
import { DEFAULT_PROJECT } from '../stack/render'
import { GreenfieldClient, GreenfieldHttpError } from './greenfield-client'
import { greenfieldError } from './greenfield-errors'
import {
  BtcpayRefusal,
  InternalSettlement,
  SettlementStore,
  type OwnInvoices,
} from './internal-settlement'
import { SETTLEMENT_HOOK_PORT, startSettlementHook } from './internal-settlement-hook'
import { ownMintUrlFrom } from '../ecash/ecash-module'
import {
  INTERNAL_SETTLEMENT_PURPOSE,
  ownMintQuoteOf,
  settleOwnMintQuote,
  type OwnQuoteSource,
} from '../mint/internal-settlement-client'
import { MerchantStore, type InvoiceRow } from './merchant-store'
import {
  applyReward,
  retryReward,
  type CardRewards,
  type EcashRewards,
  type NostrRewards,
  type RewardContext,
} from './reward-deliveries'
import {
  entryOf,
  ledgerCsv,
  readRewardRule,
  REWARD_TO_KEY,
  rewardCustomerOf,
  rewardToValue,
  writeRewardRule,
} from './rewards'
import { salesOf } from './sales'

export interface MerchantModuleOptions {
  /** BTCPay's address as the box reaches it (default http://127.0.0.1:23000). */
  readonly btcpayUrl?: string
  /** BTCPay's address as the owner's browser opens it (default: btcpayUrl). */
  readonly btcpayPublicUrl?: string
  readonly lightning?: () => Promise<LightningConnection>
  readonly derivationScheme?: () => Promise<string>
  /**
   * Where the webhook receiver listens. Default: the stack network's gateway address, port 23010
   * (webhook-route.ts): BTCPay's container reaches it, connections from outside the network's
   * subnet are refused, and the HMAC decides each delivery. While that network does not exist
   * yet (the stack never started) or its gateway cannot be bound (Docker Desktop), 127.0.0.1,
   * which BTCPay's container cannot reach; the set-up moves it once the network is there.
   * `webhookHost` pins an address instead (the tests' simulator on this host).
   */
  readonly webhookHost?: string
  readonly webhookPort?: number
  /** The stack network's gateway and subnet; default: asked of Docker (`flashbox-net`). */
  readonly webhookNetwork?: () => Promise<StackGateway | undefined>
  /** The URL BTCPay posts to, from the receiver's own URL (default: that URL unchanged). */
  readonly webhookUrl?: (receiverUrl: string) => string
  /** How long an eCash reward waits for its paid mint quote to be minted (default 20 s). */
  readonly mintWaitMs?: number
  /**
   * The box's LND (admin): its node key (is an invoice the box's own?) and the preimages of the
   * shop's invoices for the settlement hook. Default: the Lightning module's.
   */
  readonly lnd?: () => Lightning.AuthenticatedLnd | undefined
  /** The settlement hook's port (default 23011, the address the mint is given; tests use 0). */
  readonly settlementPort?: number
  /** How often a settlement hook that could not listen is tried again (default 60 s). */
  readonly settlementRetryMs?: number
}

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning & {
  /** ln-service's BOLT 11 decoder (the `invoices` package; untyped in `lightning`). */
  parsePaymentRequest(args: { request: string }): {
    id: string
    destination: string
    mtokens?: string
  }
}

/** Payment hash, amount and payee of a BOLT 11 invoice (the payee recovered from its signature). */
export function lightningInvoiceOf(bolt11: string): {
  hash: string
  msat: number
  payee: string
} {
  const d = ln.parsePaymentRequest({ request: bolt11.trim().toLowerCase() })
  return { hash: d.id, msat: Number(d.mtokens ?? 0), payee: d.destination }
}

const HOOK_ALERT_ID = 'merchant:settlement-hook'

/** Why the settlement hook cannot listen on its port, and what to do, in words. */
function hookPortProblem(port: number, err: unknown): FlashError {
  const code = (err as NodeJS.ErrnoException).code
  return new FlashError(
    'merchant.settlement_port_taken',
    code === 'EADDRINUSE'
      ? `Another program already uses port ${port} on this computer, so Flash Box cannot settle a sale of the shop paid with the box’s own eCash (those payments are refused; nothing is lost). Everything else works.`
      : `Flash Box could not open port ${port} on this computer for settling the shop’s sales paid with the box’s own eCash (${code ?? (err as Error).message}); those payments are refused, nothing is lost.`,
    code === 'EADDRINUSE'
      ? `Close the program that uses port ${port} (\`sudo ss -ltnp 'sport = :${port}'\` on Linux, \`lsof -nP -iTCP:${port} -sTCP:LISTEN\` on macOS, or \`netstat -ano | findstr :${port}\` on Windows shows which); Flash Box tries again every minute.`
      : 'Flash Box tries again every minute; if this stays, restart Flash Box.',
    { cause: err },
  )
}

export interface MerchantModule extends EngineModule<typeof merchantApi> {
  /** Test/bench hook: the receiver's URL. */
  readonly webhookUrl: () => string
  /** The settlement hook's loopback URL (the embedded mint's MINT_INTERNAL_SETTLEMENT_URL). */
  readonly settlementHookUrl: () => string | undefined
  /**
   * An invoice of the box's own Lightning node, settled inside the box instead of paid: one of
   * the box's eCash wallet's quotes at its own mint (the mint marks it paid), or an open sale of
   * the shop (marked settled in BTCPay). Undefined when it is neither (nothing was done).
   */
  readonly settleOwnInvoice: (bolt11: string) => Promise<'mint-quote' | 'sale' | undefined>
}

function invoiceRowOf(i: {
  id: string
  status: string
  additionalStatus?: string
  amount: string
  currency: string
  createdTime: number
  checkoutLink: string
  metadata?: Record<string, unknown>
}): InvoiceRow {
  const md = i.metadata ?? {}
  return {
    id: i.id,
    status: i.status,
    additional_status: i.additionalStatus ?? 'None',
    amount: i.amount,
    currency: i.currency,
    created_at: i.createdTime * 1000,
    settled_at: i.status === 'Settled' ? Date.now() : null,
    order_id: typeof md.orderId === 'string' ? md.orderId : null,
    description: typeof md.itemDesc === 'string' ? md.itemDesc : null,
    checkout_link: i.checkoutLink,
    reward_to: rewardCustomerOf(md[REWARD_TO_KEY]) ? (md[REWARD_TO_KEY] as string) : null,
  }
}

export function merchantModule(o: MerchantModuleOptions = {}): EngineModuleFactory {
  return (ctx) => {
    const log = ctx.log.child('merchant')
    const dir = join(ctx.dataDir, 'merchant')
    const box = boxKeyFor(ctx.dataDir)
    const owner = new OwnerPassword(ctx.dataDir)
    const btcpayUrl = o.btcpayUrl ?? `http://127.0.0.1:${servicePorts.btcpay}`
    const publicUrl = o.btcpayPublicUrl ?? btcpayUrl
    let store: MerchantStore
    let receiver: { url: string; close(): Promise<void> } | null = null
    let running: Promise<SetupRecord> | null = null
    let runningStep: SetupStep | null = null
    let failedStep: SetupStep | null = null
    let problem: FlashError | undefined
    const rewardInFlight = new Map<string, Promise<void>>()
    let settlementStore: SettlementStore | undefined
    let settlement: InternalSettlement | undefined

    const lightning =
      o.lightning ??
      (async (): Promise<LightningConnection> => {
        const settings = loadSettings(ctx.dataDir)
        if (!settings?.services.lnd)
          throw new FlashError(
            'merchant.no_lightning',
            'Lightning is turned off, so BTCPay cannot take Lightning payments.',
            'Turn on Lightning in Settings → Services, then run the set-up again.',
          )
        const secrets = await loadOrCreateStackSecrets(settings.dataDir)
        let macaroon: Buffer
        try {
          macaroon = readFileSync(macaroonPath(settings.dataDir, 'btcpay'))
        } catch {
          throw new FlashError(
            'merchant.lightning_no_macaroon',
            'The box has no Lightning key (macaroon) for BTCPay yet.',
            'Start Lightning on the Lightning page and wait until it is ready, then run the set-up again.',
          )
        }
        return {
          server: `https://lnd:${servicePorts.lndRest}/`,
          macaroonHex: macaroon.toString('hex'),
          certThumbprint: secrets.lndTls.sha256Thumbprint,
        }
      })

    const derivationScheme =
      o.derivationScheme ??
      (async () => {
        const wallet = ctx.modules.get('wallet')?.handlers as
          { status(i: object, c: RequestContext): Promise<WalletStatus> } | undefined
        const account = wallet
          ? (await wallet.status({}, { transport: 'internal' })).accounts[0]
          : undefined
        if (!account)
          throw new FlashError(
            'merchant.no_wallet',
            'The box has no on-chain wallet yet, so BTCPay has nowhere to send on-chain payments.',
            'Make the wallet on the Wallet page, then run the set-up again.',
          )
        return account.kind === 'tr' ? `${account.xpub}-[taproot]` : account.xpub
      })

    // Every sale and every webhook needs the set-up record and the API key: each is read again
    // only when its file changed (the credentials only while the box key is open).
    const setupRecord = fileSnapshot(setupPaths(dir).record, () => readSetupRecord(dir))
    const credentials = fileSnapshot(setupPaths(dir).credentials, () => readCredentials(box, dir))
    const record = () => setupRecord.get()
    const creds = () => {
      if (box.unlocked) return credentials.get()
      credentials.forget()
      return null
    }
    const client = () => {
      const c = creds()
      if (!c?.apiKey)
        throw new FlashError(
          'merchant.not_set_up',
          'BTCPay is not set up yet.',
          'Press "Set up BTCPay" on the Merchant page.',
        )
      return new GreenfieldClient(btcpayUrl, { kind: 'token', apiKey: c.apiKey })
    }
    const storeId = () => {
      const id = record()?.storeId
      if (!id)
        throw new FlashError(
          'merchant.not_set_up',
          'BTCPay is not set up yet.',
          'Press "Set up BTCPay" on the Merchant page.',
        )
      return id
    }

    // --- internal settlement (INTERNAL-SETTLEMENT design): the box's mint and shop on one LND --
    const appLnd = (): Lightning.AuthenticatedLnd | undefined =>
      o.lnd
        ? o.lnd()
        : (
            ctx.modules.get('lightning') as
              { appLnd?: () => Lightning.AuthenticatedLnd | undefined } | undefined
          )?.appLnd?.()
    let nodeKey: string | undefined
    /** The box's own Lightning node key, or undefined while its LND is not ready. */
    const ownNodeKey = async (): Promise<string | undefined> => {
      if (nodeKey) return nodeKey
      const lnd = appLnd()
      if (!lnd) return undefined
      nodeKey = (await ln.getIdentity({ lnd })).public_key
      return nodeKey
    }
    const isOwnNode = async (bolt11: string): Promise<boolean> => {
      const own = await ownNodeKey().catch(() => undefined)
      return own !== undefined && lightningInvoiceOf(bolt11).payee === own
    }
    /** K: the key the box and its own mint sign internal settlement with (none while locked). */
    const settlementKey = (): Buffer | undefined =>
      box.unlocked ? box.subkey(INTERNAL_SETTLEMENT_PURPOSE) : undefined
    const ecashWalletStore = (): OwnQuoteSource | undefined =>
      (
        ctx.modules.get('ecash') as
          { wallet?: () => { store: OwnQuoteSource } | undefined } | undefined
      )?.wallet?.()?.store
    /** Asks the box's own mint to mark its quote paid (no Lightning payment; idempotent). */
    const settleOwnQuote = async (quote: { quoteId: string; mintUrl: string }, bolt11: string) => {
      const key = settlementKey()
      if (!key) box.requireUnlocked()
      const settled = await settleOwnMintQuote({
        // The mint as the box reaches it directly (never through the front door).
        mintUrl: ownMintUrlFrom(ctx) ?? quote.mintUrl,
        key: key!,
        quoteId: quote.quoteId,
        paymentHash: lightningInvoiceOf(bolt11).hash,
      })
      log.info('own mint quote settled inside the box', {
        quote: quote.quoteId.slice(0, 8),
        state: settled.state,
      })
    }
    /** The BTCPay invoice's Lightning payment hash, remembered for the settlement hook. */
    const rememberLightning = (
      invoiceId: string,
      methods: readonly { paymentMethodId: string; destination: string }[],
    ): string | undefined => {
      const bolt11 = methods.find((p) => p.paymentMethodId === 'BTC-LN')?.destination
      if (bolt11 && settlementStore) {
        const { hash, msat } = lightningInvoiceOf(bolt11)
        settlementStore.rememberInvoice(hash, invoiceId, msat)
      }
      return bolt11
    }
    const ownInvoices = (): OwnInvoices => ({
      find: async (hash) => {
        const known = settlementStore!.knownInvoice(hash)
        if (known) return known
        // Not set up: the box has no shop, so the payee is nobody the box knows.
        if (!record()?.storeId || !creds()?.apiKey) return undefined
        // A sale the box did not make itself (BTCPay's own PoS): look through the open ones.
        const open = await client().call<{ id: string }[]>(
          'GET',
          `/api/v1/stores/${storeId()}/invoices?status=New&take=200`,
          undefined,
          'looking for the sale',
        )
        for (const i of open) {
          if (settlementStore!.hasInvoice(i.id)) continue
          rememberLightning(
            i.id,
            await client().call<{ paymentMethodId: string; destination: string }[]>(
              'GET',
              `/api/v1/stores/${storeId()}/invoices/${i.id}/payment-methods`,
              undefined,
              'reading the sale’s invoice',
            ),
          )
          const hit = settlementStore!.knownInvoice(hash)
          if (hit) return hit
        }
        return undefined
      },
      state: async (invoiceId) => {
        const i = await client().call<{ status: string; additionalStatus?: string }>(
          'GET',
          `/api/v1/stores/${storeId()}/invoices/${invoiceId}`,
          undefined,
          'reading the sale',
        )
        return { status: i.status, additionalStatus: i.additionalStatus ?? 'None' }
      },
      markSettled: async (invoiceId) => {
        try {
          // Greenfield markInvoiceStatus (btcpay.store.canmodifyinvoices).
          await client().raw('POST', `/api/v1/stores/${storeId()}/invoices/${invoiceId}/status`, {
            status: 'Settled',
          })
        } catch (err) {
          if (err instanceof GreenfieldHttpError && err.status >= 400 && err.status < 500)
            throw new BtcpayRefusal(
              greenfieldError(err.status, err.body, 'marking the sale paid').message,
              err.status,
            )
          throw err
        }
      },
      preimage: async (hash) => {
        const lnd = appLnd()
        if (!lnd) return null
        return (await ln.getInvoice({ lnd, id: hash })).secret ?? null
      },
      closeLightning: async (hash) => {
        const lnd = appLnd()
        if (lnd) await ln.cancelHodlInvoice({ lnd, id: hash })
      },
    })
    const settleOwnInvoice = async (bolt11: string): Promise<'mint-quote' | 'sale' | undefined> => {
      const quote = ownMintQuoteOf(ecashWalletStore(), bolt11)
      if (quote) {
        await settleOwnQuote(quote, bolt11)
        return 'mint-quote'
      }
      if (!settlement) return undefined
      const { hash, msat } = lightningInvoiceOf(bolt11)
      const answer = await settlement.pay({
        paymentHash: hash,
        bolt11,
        amountMsat: msat,
        meltQuote: 'paid from the box’s Lightning page',
      })
      if (answer.state === 'NOT_INTERNAL') return undefined
      if (answer.state === 'PAID') return 'sale'
      throw new FlashError(
        'merchant.sale_not_settled',
        answer.state === 'FAILED'
          ? `The shop’s sale was not marked paid: ${answer.reason}`
          : 'The shop’s sale is being marked paid; BTCPay has not answered yet.',
        'Look at the sale on the Merchant page.',
      )
    }

    const steps = (): MerchantSetupStep[] => {
      const done = new Set(record()?.done ?? [])
      return SETUP_STEPS.map((id) => ({
        id,
        title: STEP_TITLES[id],
        state: done.has(id)
          ? 'done'
          : runningStep === id
            ? 'running'
            : failedStep === id
              ? 'failed'
              : 'todo',
      }))
    }
    const publishSteps = () =>
      ctx.events.publish({ topic: 'merchant', type: 'setup', steps: steps() })

    const rulePath = join(dir, 'rewards.json')
    const rewardRule = fileSnapshot(rulePath, () => readRewardRule(rulePath))

    const invoiceView = async (r: InvoiceRow, withQr = false): Promise<MerchantInvoice> => {
      const rw = store.reward(r.id)
      return {
        id: r.id,
        status: r.status as MerchantInvoice['status'],
        additionalStatus: r.additional_status,
        amount: r.amount,
        currency: r.currency,
        createdAt: new Date(r.created_at).toISOString(),
        ...(r.settled_at ? { settledAt: new Date(r.settled_at).toISOString() } : {}),
        ...(r.order_id ? { orderId: r.order_id } : {}),
        ...(r.description ? { description: r.description } : {}),
        checkoutLink: r.checkout_link,
        ...(rw
          ? {
              reward: {
                amount: rw.reward_amount,
                currency: rw.currency,
                state: rw.state,
                method: rw.method,
                ...(rw.target ? { to: rewardTargetName(rw.method, rw.target) } : {}),
                ...(rw.reward_sat !== null ? { amountSat: rw.reward_sat } : {}),
                ...(rw.reason ? { reason: rw.reason } : {}),
                ...(rw.claim_link ? { claimLink: rw.claim_link } : {}),
                ...(withQr && rw.claim_link ? { qr: await qrDataUrl(rw.claim_link) } : {}),
              },
            }
          : {}),
      }
    }

    const publishInvoice = async (id: string) => {
      const r = store.invoice(id)
      if (r)
        ctx.events.publish({
          topic: 'merchant',
          type: 'invoice',
          invoice: await invoiceView(r, true),
        })
    }

    const pullPaymentView = async (p: {
      id: string
      name: string
      amount: string
      currency: string
      viewLink: string
      archived: boolean
    }): Promise<MerchantPullPayment> => ({
      id: p.id,
      name: p.name,
      amount: p.amount,
      currency: p.currency,
      link: p.viewLink,
      qr: await qrDataUrl(p.viewLink),
      archived: p.archived,
    })

    const payoutView = (p: {
      id: string
      pullPaymentId: string | null
      originalAmount: string
      originalCurrency: string
      destination: string
      payoutMethodId: string
      state: MerchantPayout['state']
      revision: number
    }): MerchantPayout => ({
      id: p.id,
      pullPaymentId: p.pullPaymentId,
      amount: p.originalAmount,
      currency: p.originalCurrency,
      destination: p.destination,
      method: p.payoutMethodId,
      state: p.state,
      revision: p.revision,
    })

    /** The card's name for a card reward, the npub for an eCash one. */
    const rewardTargetName = (method: string, target: string) => {
      if (method !== 'card') return target
      const cards = ctx.modules.get('boltcard') as unknown as BoltcardModule | undefined
      return cards?.cardName?.(target) ?? target
    }

    const internal = { transport: 'internal' } as const
    /** The other modules a reward's delivery uses, as far as they run. */
    const rewardContext = (): RewardContext => {
      const cardsModule = ctx.modules.get('boltcard') as unknown as BoltcardModule | undefined
      const card: CardRewards | undefined = cardsModule?.rewardTopUp
        ? { rewardTopUp: (id, sat, ref) => cardsModule.rewardTopUp(id, sat, ref) }
        : undefined
      const ecashModule = ctx.modules.get('ecash') as
        | {
            handlers: {
              mintQuote(i: { amount: number }, c: RequestContext): Promise<MintQuoteView>
              checkMintQuote(i: { quoteId: string }, c: RequestContext): Promise<MintQuoteView>
              send(i: { amount: number; memo: string }, c: RequestContext): Promise<EcashSendResult>
            }
            wallet?: () => EcashWallet | undefined
          }
        | undefined
      const lightningPay = (
        ctx.modules.get('lightning')?.handlers as
          | {
              pay?(
                i: { request: string; feeLimitSat: number },
                c: RequestContext,
              ): Promise<PaymentView>
            }
          | undefined
      )?.pay
      const walletStore = () => {
        const w = ecashModule?.wallet?.()
        if (!w)
          throw new FlashError(
            'merchant.reward_no_ecash',
            'The eCash wallet is not open yet.',
            'Wait until the eCash page shows the wallet, then press Retry.',
          )
        return w.store
      }
      const ecash: EcashRewards | undefined = ecashModule
        ? {
            mintQuote: (amount) => ecashModule.handlers.mintQuote({ amount }, internal),
            checkMintQuote: (quoteId) => ecashModule.handlers.checkMintQuote({ quoteId }, internal),
            payInvoice: async (request, amountSat, quoteId) => {
              // The box's node would pay its own mint: LND refuses a self-payment, and no sats
              // need to move (the mint's reserves are in the same wallet). The mint marks its
              // quote paid instead.
              const quote = ownMintQuoteOf(ecashWalletStore(), request)
              if (quote && quote.quoteId === quoteId && (await isOwnNode(request))) {
                await settleOwnQuote(quote, request)
                return 'internal'
              }
              if (!lightningPay)
                throw new FlashError(
                  'merchant.reward_no_lightning',
                  'Lightning is turned off, so the box cannot pay its mint for the reward’s eCash.',
                  'Turn on Lightning in Settings → Services, then press Retry.',
                )
              const feeLimitSat = Math.max(10, Math.ceil(amountSat / 100))
              const p = await lightningPay({ request, feeLimitSat }, internal)
              if (p.state === 'failed')
                throw new FlashError(
                  'merchant.reward_mint_unpaid',
                  `The box’s Lightning node could not pay its mint for the reward’s eCash: ${p.failureText ?? 'the payment failed'}.`,
                  'Check the Lightning page, then press Retry.',
                )
              return 'lightning'
            },
            send: (amount, memo) => ecashModule.handlers.send({ amount, memo }, internal),
            sentWithMemo: (memo) =>
              walletStore()
                .listOperations({ kind: 'send', states: ['sent', 'claimed'] })
                .find((op) => op.data.memo === memo)?.id,
            token: (id) => walletStore().getOperation(id)?.token,
          }
        : undefined
      const nostrHandlers = ctx.modules.get('nostr')?.handlers as
        | {
            sendDirectMessage(
              i: { to: string; text: string },
              c: RequestContext,
            ): Promise<NostrSendResult>
          }
        | undefined
      const nostr: NostrRewards | undefined = nostrHandlers
        ? {
            sendPrivate: async (to, text) =>
              (await nostrHandlers.sendDirectMessage({ to, text }, internal)).messageId,
          }
        : undefined
      return {
        store,
        client: client(),
        storeId: storeId(),
        log,
        ...(card ? { card } : {}),
        ...(ecash ? { ecash } : {}),
        ...(nostr ? { nostr } : {}),
        ...(record()?.storeName ? { shopName: record()!.storeName! } : {}),
        ...(o.mintWaitMs !== undefined ? { mintWaitMs: o.mintWaitMs } : {}),
        settledInsideBoxMsat: (invoiceId) => settlementStore?.paidFor(invoiceId),
      }
    }

    /** One delivery at a time per invoice (webhook, resume after a crash, the owner's retry). */
    const oneRewardAtATime = <T>(invoiceId: string, run: () => Promise<T>): Promise<T> => {
      const before = rewardInFlight.get(invoiceId) ?? Promise.resolve()
      const p = before.catch(() => undefined).then(run)
      const tail = p.then(
        () => undefined,
        () => undefined,
      )
      rewardInFlight.set(invoiceId, tail)
      void tail.then(() => {
        if (rewardInFlight.get(invoiceId) === tail) rewardInFlight.delete(invoiceId)
      })
      return p
    }

    const reward = (invoiceId: string): Promise<void> =>
      oneRewardAtATime(invoiceId, async () => {
        const entry = await applyReward({
          ...rewardContext(),
          rule: rewardRule.get(),
          invoice: store.invoice(invoiceId)!,
        })
        if (entry) ctx.events.publish({ topic: 'merchant', type: 'reward', entry })
        await publishInvoice(invoiceId)
      })

    /** A verified webhook: record it once; settled invoices may earn a reward. */
    const onEvent = async (e: BtcpayEvent) => {
      const original = e.originalDeliveryId ?? e.deliveryId
      const invoiceId = typeof e.invoiceId === 'string' ? e.invoiceId : null
      if (!invoiceId) {
        store.firstDelivery(original, e.type, null)
        return
      }
      let row = store.invoice(invoiceId)
      if (!row) {
        // A sale made elsewhere (BTCPay's own PoS): ask BTCPay for it.
        const inv = await client().call<Parameters<typeof invoiceRowOf>[0]>(
          'GET',
          `/api/v1/stores/${storeId()}/invoices/${invoiceId}`,
          undefined,
          'reading a sale',
        )
        store.upsertInvoice(invoiceRowOf(inv))
        row = store.invoice(invoiceId)!
      }
      const status = INVOICE_STATUS_OF_EVENT[e.type] ?? null
      if (status && row.status !== status) {
        store.upsertInvoice({
          ...row,
          status,
          additional_status:
            e.manuallyMarked === true
              ? 'Marked'
              : e.type === 'InvoiceSettled' && e.overPaid === true
                ? 'PaidOver'
                : row.additional_status,
          settled_at: status === 'Settled' ? Date.now() : row.settled_at,
        })
      }
      // Record the delivery after its effect: a crash in between makes the redelivery redo an
      // idempotent update rather than lose it.
      store.firstDelivery(original, e.type, invoiceId)
      await publishInvoice(invoiceId)
      if (status === 'Settled')
        void reward(invoiceId).catch((err: unknown) =>
          log.warn('reward not issued yet', { invoiceId, error: String(err) }),
        )
    }

    const runSetup = (input: { shopName: string; currency: string }) => {
      if (running) return running
      failedStep = null
      problem = undefined
      running = (async () => {
        // BTCPay must be told an address it can reach: the stack network's, once it exists.
        await ensureReceiver()
        const saga = new BtcpaySetup({
          dir,
          box,
          btcpayUrl,
          lightning,
          derivationScheme,
          webhookUrl: (o.webhookUrl ?? ((u) => u))(receiver!.url),
          onStep: (step, state) => {
            runningStep = state === 'running' ? step : null
            publishSteps()
          },
        })
        const rec = await saga.run(input)
        // Set up before, while the receiver was elsewhere: point BTCPay's webhook at it now.
        await reconcileWebhook().catch((err: unknown) =>
          log.warn('BTCPay webhook address not updated', { error: String(err) }),
        )
        return rec
      })()
        .catch((err: unknown) => {
          failedStep = runningStep
          runningStep = null
          problem =
            err instanceof FlashError
              ? err
              : new FlashError(
                  'merchant.setup_failed',
                  'The BTCPay set-up stopped.',
                  'Run it again; it continues where it stopped.',
                  { cause: err },
                )
          log.warn('BTCPay set-up stopped', { step: failedStep, code: problem.code })
          publishSteps()
          throw problem
        })
        .finally(() => {
          running = null
        })
      return running
    }

    // The PoS link's QR is the same on every status call: made once per link.
    let posQrCache: { url: string; qr: string | undefined } | null = null
    const posQr = async (url: string) => {
      if (posQrCache?.url !== url) posQrCache = { url, qr: await qrDataUrl(url) }
      return posQrCache.qr
    }

    const status = async (): Promise<MerchantStatus> => {
      const rec = record()
      const ready = SETUP_STEPS.every((s) => rec?.done.includes(s))
      const posUrl = rec?.posAppId
        ? `${publicUrl.replace(/\/$/, '')}/apps/${rec.posAppId}/pos`
        : undefined
      return {
        steps: steps(),
        running: running !== null,
        ready,
        btcpayUrl: publicUrl,
        ...(rec?.storeName
          ? { shop: { name: rec.storeName, currency: rec.currency ?? 'EUR' } }
          : {}),
        ...(posUrl ? { pos: { url: posUrl, qr: await posQr(posUrl) } } : {}),
        rewards: rewardRule.get(),
        webhooks: { received: store.deliveryCount(), refused: store.refusedCount() },
        ...(problem ? { problem: toUserError(problem) } : {}),
      }
    }

    const refreshInvoices = async () => {
      const list = await client().call<Parameters<typeof invoiceRowOf>[0][]>(
        'GET',
        `/api/v1/stores/${storeId()}/invoices?take=500`,
        undefined,
        'reading the sales',
      )
      for (const i of list) store.upsertInvoice(invoiceRowOf(i))
    }

    const handlers: HandlersOf<typeof merchantApi, RequestContext> = {
      status,
      setup: async (input) => {
        box.requireUnlocked()
        await runSetup(input)
        return status()
      },
      invoices: async ({ search, status: st }) => {
        if (record()?.apiKeyLabel && box.unlocked)
          await refreshInvoices().catch((err: unknown) =>
            log.debug('invoice refresh failed', { error: String(err) }),
          )
        return Promise.all(store.invoices(search, st).map((r) => invoiceView(r)))
      },
      sales: async () => {
        const rec = record()
        return salesOf(store, rec?.currency ?? 'EUR', new Date())
      },
      createInvoice: async ({ amount, currency, description, rewardTo }) => {
        const rec = record()
        const inv = await client().call<Parameters<typeof invoiceRowOf>[0]>(
          'POST',
          `/api/v1/stores/${storeId()}/invoices`,
          {
            amount,
            currency: currency ?? rec?.currency ?? 'EUR',
            metadata: {
              orderId: `box-${Date.now().toString(36)}`,
              ...(description ? { itemDesc: description } : {}),
              ...(rewardTo ? { [REWARD_TO_KEY]: rewardToValue(rewardTo) } : {}),
            },
            checkout: { paymentMethods: ['BTC-LN'] },
          },
          'making a sale',
        )
        store.upsertInvoice(invoiceRowOf(inv))
        const pms = await client().call<{ paymentMethodId: string; destination: string }[]>(
          'GET',
          `/api/v1/stores/${storeId()}/invoices/${inv.id}/payment-methods`,
          undefined,
          'reading the sale’s invoice',
        )
        const bolt11 = rememberLightning(inv.id, pms)
        const view = await invoiceView(store.invoice(inv.id)!)
        return {
          ...view,
          ...(bolt11 ? { bolt11, qr: await qrDataUrl(bolt11, { uppercase: true }) } : {}),
        }
      },
      refund: async ({ invoiceId, variant }) => {
        const pp = await client().call<Parameters<typeof pullPaymentView>[0]>(
          'POST',
          `/api/v1/invoices/${invoiceId}/refund`,
          { refundVariant: variant, payoutMethodId: 'BTC-LN', name: `Refund of sale ${invoiceId}` },
          'making the refund',
        )
        return pullPaymentView(pp)
      },
      pullPayments: async () => {
        const list = await client().call<Parameters<typeof pullPaymentView>[0][]>(
          'GET',
          `/api/v1/stores/${storeId()}/pull-payments`,
          undefined,
          'reading refunds and rewards',
        )
        return Promise.all(list.map(pullPaymentView))
      },
      payouts: async () => {
        const list = await client().call<Parameters<typeof payoutView>[0][]>(
          'GET',
          `/api/v1/stores/${storeId()}/payouts`,
          undefined,
          'reading payouts',
        )
        return list.map(payoutView)
      },
      approvePayout: async ({ payoutId, revision }) =>
        payoutView(
          await client().call(
            'POST',
            `/api/v1/stores/${storeId()}/payouts/${payoutId}`,
            { revision },
            'approving the payout',
          ),
        ),
      markPayoutPaid: async ({ payoutId }) => {
        await client().call(
          'POST',
          `/api/v1/stores/${storeId()}/payouts/${payoutId}/mark-paid`,
          undefined,
          'marking the payout paid',
        )
        return payoutView(
          await client().call(
            'GET',
            `/api/v1/stores/${storeId()}/payouts/${payoutId}`,
            undefined,
            'reading the payout',
          ),
        )
      },
      payoutToWallet: async ({ amountSat }) => {
        const wallet = ctx.modules.get('wallet')?.handlers as
          | {
              status(i: object, c: RequestContext): Promise<WalletStatus>
              receive(
                i: { accountId: string; label?: string },
                c: RequestContext,
              ): Promise<ReceiveAddress>
            }
          | undefined
        const account = wallet
          ? (await wallet.status({}, { transport: 'internal' })).accounts[0]
          : undefined
        if (!wallet || !account)
          throw new FlashError(
            'merchant.no_wallet',
            'The box has no on-chain wallet to pay out to.',
            'Make the wallet on the Wallet page first.',
          )
        const addr = await wallet.receive(
          { accountId: account.id, label: 'BTCPay payout' },
          { transport: 'internal' },
        )
        return payoutView(
          await client().call(
            'POST',
            `/api/v1/stores/${storeId()}/payouts`,
            {
              destination: addr.address,
              amount: (amountSat / 1e8).toFixed(8),
              payoutMethodId: 'BTC-CHAIN',
              approved: true,
            },
            'making the payout to your wallet',
          ),
        )
      },
      setRewardRule: async (rule) => {
        writeRewardRule(rulePath, rule as RewardRule)
        return readRewardRule(rulePath)
      },
      retryReward: async ({ invoiceId, to }) => {
        box.requireUnlocked()
        const entry = await oneRewardAtATime(invoiceId, () =>
          retryReward(rewardContext(), invoiceId, to),
        )
        ctx.events.publish({ topic: 'merchant', type: 'reward', entry })
        await publishInvoice(invoiceId)
        return entry
      },
      rewardLedger: async () => store.rewards().map(entryOf),
      rewardLedgerCsv: async () => ledgerCsv(store.rewards()),
      btcpayLogin: async ({ password }) => {
        if (!(await owner.verify(password)))
          throw new FlashError(
            'merchant.wrong_password',
            'That is not the owner password.',
            'Type the password you use to open Flash Box.',
          )
        const c = creds()
        if (!c)
          throw new FlashError(
            'merchant.not_set_up',
            'BTCPay is not set up yet.',
            'Press "Set up BTCPay" on the Merchant page.',
          )
        const result: BtcpayLogin = {
          url: `${publicUrl.replace(/\/$/, '')}/login`,
          email: c.adminEmail,
          password: c.adminPassword,
          note: 'BTCPay’s API has no way to open its pages already logged in (its one-time login codes are made only inside BTCPay’s own account page), so log in with these.',
        }
        return result
      },
      ecashPayReview: async ({ invoiceId }) => {
        const ecash = ctx.modules.get('ecash')?.handlers as
          | { meltQuote(i: { invoice: string }, c: RequestContext): Promise<MeltQuoteView> }
          | undefined
        if (!ecash)
          throw new FlashError(
            'merchant.no_ecash',
            'eCash is turned off, so a sale cannot be paid with it.',
            'Turn on the mint and the eCash wallet in Settings → Services.',
          )
        const inv = await client().call<{ status: string }>(
          'GET',
          `/api/v1/invoices/${invoiceId}`,
          undefined,
          'reading the sale',
        )
        if (inv.status !== 'New')
          throw new FlashError(
            'merchant.invoice_not_open',
            'This sale is not waiting for payment any more.',
            'Make a new sale.',
          )
        const pms = await client().call<{ paymentMethodId: string; destination: string }[]>(
          'GET',
          `/api/v1/stores/${storeId()}/invoices/${invoiceId}/payment-methods`,
          undefined,
          'reading the sale’s invoice',
        )
        const bolt11 = pms.find((p) => p.paymentMethodId === 'BTC-LN')?.destination
        if (!bolt11)
          throw new FlashError(
            'merchant.no_lightning_invoice',
            'This sale has no Lightning invoice, so eCash cannot pay it.',
            'Connect Lightning with "Set up BTCPay" on the Merchant page.',
          )
        const q = await ecash.meltQuote({ invoice: bolt11 }, { transport: 'internal' })
        // The box's mint quoted a melt into the shop's invoice on the box's own node: the mint
        // settles it through the box's settlement hook, with no Lightning fee.
        const insideBox =
          q.feeReserve === 0 &&
          ecashWalletStore()?.getMint(q.mintUrl)?.own === true &&
          (await isOwnNode(bolt11))
        store.beginEcashPay({
          review_id: q.quoteId,
          invoice_id: invoiceId,
          amount_sat: q.amount,
          fee_reserve_sat: q.feeReserve,
        })
        const review: EcashPayReview = {
          reviewId: q.quoteId,
          invoiceId,
          amountSat: q.amount,
          feeReserveSat: q.feeReserve,
          totalSat: q.amount + q.feeReserve,
          ...(q.expiry ? { expiresAt: new Date(q.expiry * 1000).toISOString() } : {}),
          ...(insideBox ? { insideBox: true } : {}),
        }
        return review
      },
      ecashPayConfirm: async ({ reviewId }) => {
        const row = store.ecashPay(reviewId)
        if (!row)
          throw new FlashError(
            'merchant.no_review',
            'There is no reviewed eCash payment with that number.',
            'Review the payment again on the Merchant page.',
          )
        if (!store.claimEcashPay(reviewId))
          throw new FlashError(
            'merchant.already_paying',
            'This eCash payment was already sent.',
            'Wait for the sale to show "Paid".',
          )
        const ecash = ctx.modules.get('ecash')?.handlers as
          { melt(i: { quoteId: string }, c: RequestContext): Promise<MeltResult> } | undefined
        if (!ecash) {
          store.finishEcashPay(reviewId, 'failed', null)
          throw new FlashError(
            'merchant.no_ecash',
            'eCash is turned off, so a sale cannot be paid with it.',
            'Turn on the mint and the eCash wallet in Settings → Services.',
          )
        }
        try {
          const r = await ecash.melt({ quoteId: reviewId }, { transport: 'internal' })
          store.finishEcashPay(reviewId, r.state === 'paid' ? 'paid' : 'sending', r.fee)
          const result: EcashPayResult = {
            invoiceId: row.invoice_id,
            state: r.state,
            feeSat: r.fee,
          }
          return result
        } catch (err) {
          // The eCash wallet's melt saga keeps its own proofs safe; here the attempt is over.
          store.finishEcashPay(reviewId, 'failed', null)
          throw err
        }
      },
    }

    /**
     * BTCPay's webhook must point at the receiver's current URL and ask only for the invoice
     * events the box acts on (level-triggered: BTCPay is asked, not the record). Boxes set up
     * before the set-up narrowed it still have "every event"; this narrows them too.
     */
    const reconcileWebhook = async () => {
      const rec = record()
      const c = creds()
      if (!rec?.webhookId || !c?.webhookSecret || !receiver) return
      const want = (o.webhookUrl ?? ((u) => u))(receiver.url)
      const hook = await client().call<{
        url: string
        authorizedEvents?: { everything?: boolean; specificEvents?: string[] }
      }>('GET', `/api/v1/webhooks/${rec.webhookId}`, undefined, 'reading BTCPay’s payment notices')
      const events = hook.authorizedEvents
      const narrowed =
        events?.everything === false &&
        [...(events.specificEvents ?? [])].sort().join() ===
          [...WEBHOOK_EVENTS.specificEvents].sort().join()
      if (hook.url === want && narrowed && rec.webhookUrl === want) {
        webhookChecked = true
        return
      }
      if (!narrowed) log.info('BTCPay webhook narrowed to the invoice events the box uses')
      await client().call(
        'PUT',
        `/api/v1/webhooks/${rec.webhookId}`,
        {
          url: want,
          secret: c.webhookSecret,
          enabled: true,
          automaticRedelivery: true,
          authorizedEvents: WEBHOOK_EVENTS,
        },
        'pointing BTCPay’s payment notices at the box',
      )
      writeFileAtomicSync(
        join(dir, 'setup.json'),
        JSON.stringify({ ...rec, webhookUrl: want }, null, 2) + '\n',
        0o600,
      )
      webhookChecked = true
    }

    /** Rewards a crash left pending are finished (idempotent per invoice). */
    const resumeRewards = async () => {
      for (const r of store.rewards('pending')) await reward(r.invoice_id).catch(() => undefined)
    }

    // --- the webhook receiver: on the stack network's gateway when there is one ------------
    const webhookNetwork =
      o.webhookNetwork ??
      (async () => {
        const docker = createDockerClient(pickEndpoint(dockerEndpoints()))
        return stackGateway(docker, `${DEFAULT_PROJECT}-net`)
      })
    let receiverOn: string | null = null
    let moving: Promise<void> | null = null
    /** Starts the receiver, or moves it onto the stack network once that network exists. */
    const ensureReceiver = (): Promise<void> => {
      moving ??= (async () => {
        let host = o.webhookHost ?? '127.0.0.1'
        let net: StackGateway | undefined
        if (!o.webhookHost) {
          net = await webhookNetwork().catch((err: unknown) => {
            log.debug('stack network not found', { error: String(err) })
            return undefined
          })
          if (net) host = net.gateway
        }
        if (receiver && receiverOn === host) return
        const start = (h: string, allow?: StackGateway) =>
          startWebhookReceiver({
            host: h,
            port: o.webhookPort ?? 23010,
            secret: () => creds()?.webhookSecret ?? null,
            onEvent,
            onRefused: (reason) => store.noteRefused(reason),
            log,
            ...(allow ? { allowFrom: (a) => inSubnet(a, allow.subnet) } : {}),
          })
        let next: Awaited<ReturnType<typeof start>>
        try {
          next = await start(host, net)
        } catch (err) {
          if (!net) throw err
          // Docker Desktop: the gateway lives in its VM, not on this computer.
          log.warn(
            'BTCPay webhooks cannot reach the box: the stack network is not on this computer',
            {
              gateway: net.gateway,
              error: String(err),
            },
          )
          if (receiver) return
          host = '127.0.0.1'
          next = await start(host)
        }
        const old = receiver
        receiver = next
        receiverOn = host
        await old?.close()
        log.info('BTCPay webhook receiver', { url: next.url })
      })().finally(() => {
        moving = null
      })
      return moving
    }

    // --- the settlement hook: where the box's own mint asks to settle a sale inside the box --
    // On 127.0.0.1 for the mint as the engine's child; on the stack network's gateway for the
    // mint container (found like the webhook receiver's; refused from outside its subnet).
    const hooks = new Map<string, { url: string; close(): Promise<void> }>()
    let hooking: Promise<void> = Promise.resolve()
    // A hook that cannot listen is on the dashboard (Needs attention) until it can, not only in
    // the log: without it, paying the shop's sales with the box's eCash fails.
    let hookAlert: Alert | undefined
    let hookAlertDismissed = false
    const hookListening = (problem: FlashError | undefined): void => {
      if (!problem) {
        if (!hookAlert) return
        hookAlert = undefined
        hookAlertDismissed = false
        ctx.events.publish({ topic: 'stack', type: 'alert-cleared', id: HOOK_ALERT_ID })
        return
      }
      if (hookAlert?.message === problem.message) return
      hookAlert = {
        id: HOOK_ALERT_ID,
        severity: 'warning',
        title: 'eCash payments to the shop cannot be settled',
        message: problem.message,
        hint: problem.hint,
        at: new Date().toISOString(),
      }
      hookAlertDismissed = false
      ctx.events.publish({ topic: 'stack', type: 'alert', alert: hookAlert })
    }
    const ensureHooks = (): Promise<void> => {
      hooking = hooking.then(async () => {
        const want: { host: string; net?: StackGateway }[] = [{ host: '127.0.0.1' }]
        if (!o.webhookHost) {
          const net = await webhookNetwork().catch(() => undefined)
          if (net) want.push({ host: net.gateway, net })
        }
        let problem: FlashError | undefined
        for (const w of want) {
          if (hooks.has(w.host)) continue
          const subnet = w.net?.subnet
          const port = o.settlementPort ?? SETTLEMENT_HOOK_PORT
          try {
            hooks.set(
              w.host,
              await startSettlementHook({
                host: w.host,
                port,
                key: settlementKey,
                settlement: () => settlement,
                log,
                ...(subnet ? { allowFrom: (a) => inSubnet(a, subnet) } : {}),
              }),
            )
          } catch (err) {
            log.warn(
              'the settlement hook cannot listen: paying this shop’s sales with the box’s eCash will fail',
              { host: w.host, error: String(err) },
            )
            problem ??= hookPortProblem(port, err)
          }
        }
        hookListening(problem)
      })
      return hooking
    }

    let stopUnlock: (() => void) | undefined
    /** BTCPay's webhook was looked at since start; until then it is tried again every minute. */
    let webhookChecked = false
    let webhookTimer: NodeJS.Timeout | undefined
    let hookTimer: NodeJS.Timeout | undefined
    const module: MerchantModule = {
      name: 'merchant',
      handlers,
      webhookUrl: () => receiver?.url ?? '',
      settlementHookUrl: () => hooks.get('127.0.0.1')?.url,
      settleOwnInvoice,
      async start() {
        store = new MerchantStore(join(dir, 'merchant.db'))
        settlementStore = new SettlementStore(join(dir, 'internal-settlement.db'))
        settlement = new InternalSettlement(settlementStore, ownInvoices, log)
        await ensureReceiver()
        await ensureHooks()
        stopUnlock = box.onUnlock(() => {
          void ensureReceiver()
            .then(ensureHooks)
            .then(() =>
              reconcileWebhook().catch((err: unknown) =>
                log.debug('BTCPay webhook not checked yet', { error: String(err) }),
              ),
            )
            .then(() => settlement?.recover())
            .then(resumeRewards)
            .catch((err: unknown) => log.debug('merchant reconcile', { error: String(err) }))
        })
        // BTCPay may still be starting when the box does: look at its webhook again until it
        // answered once.
        hookTimer = setInterval(() => {
          if (hookAlert) void ensureHooks()
        }, o.settlementRetryMs ?? 60_000)
        hookTimer.unref()
        webhookTimer = setInterval(() => {
          if (webhookChecked || !box.unlocked) return
          void reconcileWebhook().catch((err: unknown) =>
            log.debug('BTCPay webhook not checked yet', { error: String(err) }),
          )
        }, 60_000)
        webhookTimer.unref()
      },
      alerts: () => (hookAlert && !hookAlertDismissed ? [hookAlert] : []),
      dismissAlert: (id) => {
        if (id === HOOK_ALERT_ID) hookAlertDismissed = true
      },
      async stop() {
        clearInterval(webhookTimer)
        clearInterval(hookTimer)
        stopUnlock?.()
        await receiver?.close()
        receiver = null
        await hooking.catch(() => undefined)
        await Promise.allSettled([...hooks.values()].map((h) => h.close()))
        hooks.clear()
        await Promise.allSettled([...rewardInFlight.values()])
        store?.close()
        settlement = undefined
        settlementStore?.close()
      },
    }
    return module
  }
}
