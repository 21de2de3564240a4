// The 'boltcard' engine module (src/shared/api/boltcard.ts): Flash Cards.
//   - issue: a BTCPay pull payment (SATS, Lightning payouts, auto-approved claims) and a card row;
//   - program / reset on the computer's NFC reader (PC/SC), or by a one-time link for the
//     Boltcard NFC Programmer app (boltcard://program|reset?url=<box>/boltcard/keys/<token>);
//   - taps: LNURL-withdraw on the public routes (lud03-withdraw.ts), each payment claimed as a
//     payout of the card's pull payment, paid by the box's LND (payment saga), then marked paid —
//     a saga of its own (tap-settlement.ts), settled after a crash at start and then every 15 s,
//     where a payout BTCPay did not take as paid is marked again until it does;
//   - top up (a new pull payment for balance + top-up, the card re-linked with the same keys,
//     the old one archived), limits, freeze (archive the pull payment).
// Card keys are sealed under the box key (<dataDir>/boltcard/card-keys.json, 0600). The app's links
// are kept as hashes in the cards' SQLite file, single-use and expiring (programming-links.ts).
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { boltcardApi, FlashCardView, FlashCardsView } from '../../shared/api/boltcard'
import type { EngineContext, EngineModule, EngineModuleFactory } from '../engine/module'
import { FlashError, toUserError } from '../errors'
import { redact } from '../log'
import { qrDataUrl } from '../ecash/qr'
import type { LightningModule } from '../lightning/lightning-module'
import {
  LnurlError,
  lnurlErrorResponse,
  lnurlJson,
  type LnurlHttpResponse,
} from '../lightning/lud06-lnurl-pay'
import { GreenfieldClient } from '../merchant/greenfield-client'
import { readCredentials, readSetupRecord } from '../merchant/btcpay-setup-saga'
import { publicBaseUrl } from '../reach/public-address'
import { boxKeyFor } from '../secrets/box-key'
import { readSealedFile, writeSealedFile } from '../secrets/box-key-file'
import { concat, fromHex, hex, type Bytes } from './aes-cmac'
import { factoryBlankUid, programCard, resetCard, sunParameters } from './card-programming'
import { BtcpayCardFunds, type CardFunds } from './card-funds'
import { CardStore, type CardRow } from './card-store'
import type { BoltcardKeys } from './deterministic-keys'
import { withdrawCallback, withdrawRequest, type WithdrawDeps } from './lud03-withdraw'
import { linkTokenHash, type LinkClaim } from './programming-links'
import type { ApduTransport } from './ntag424'
import { connectCard, listReaders } from './pcsc-reader'
import { decryptPiccData } from './sun-message'
import { TapSettlement } from './tap-settlement'

export interface BoltcardModuleOptions {
  /** Where cards' money is; default: the shop's BTCPay store set up by the box (merchant/). */
  readonly funds?: CardFunds
  /** The NFC reader; default PC/SC (`smartcard`). */
  readonly connect?: (reader?: string) => Promise<ApduTransport & { close(): void }>
  /** Public base URL; default the address set in Settings → Reachability. */
  readonly baseUrl?: () => string | undefined
  /** How long a tap's callback waits for the payment's outcome (default 30 s). */
  readonly payWaitMs?: number
  /** The clock the Boltcard app's links expire by (tests move it). */
  readonly now?: () => number
}

export interface BoltcardModule extends EngineModule<typeof boltcardApi> {
  /** GET /boltcard/tap?p=…&c=… and /boltcard/callback?k1=…&pr=… (public routes, server.ts). */
  publicGet(path: string, query: URLSearchParams): Promise<LnurlHttpResponse | undefined>
  /** POST /boltcard/keys/<token> from the Boltcard NFC Programmer app (DEEPLINK.md). */
  publicPost(path: string, body: unknown): Promise<LnurlHttpResponse | undefined>
  /**
   * A top-up made once per `reference` (a shop reward): the new pull payment is named after the
   * reference, so a second call (a crash, a redelivered webhook) finds it instead of adding the
   * amount again. The card's pull payment id afterwards.
   */
  rewardTopUp(cardId: string, amountSat: number, reference: string): Promise<string>
  /** The card's name (for the Merchant page's rewards), if there is such a card. */
  cardName(cardId: string): string | undefined
}

const KEYS_PURPOSE = 'boltcard.keys'
const LINK_TTL_MS = 15 * 60_000

interface KeysFile {
  /** K1, the same for every card of the issuer: opens every tap's p. */
  k1?: string
  cards: Record<string, { k0: string; k1: string; k2: string; k3: string; k4: string }>
}

export function boltcardModule(options: BoltcardModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createBoltcardModule(ctx, options)
}

export function createBoltcardModule(
  ctx: EngineContext,
  options: BoltcardModuleOptions = {},
): BoltcardModule {
  const log = ctx.log.child ? ctx.log.child('boltcard') : ctx.log
  const dir = join(ctx.dataDir, 'boltcard')
  const keysPath = join(dir, 'card-keys.json')
  const box = boxKeyFor(ctx.dataDir)
  let store: CardStore | undefined
  const cards = () => {
    store ??= new CardStore(join(dir, 'cards.sqlite'))
    return store
  }
  const now = options.now ?? Date.now
  const baseUrl = options.baseUrl ?? (() => publicBaseUrl(ctx.dataDir))
  const changed = () => ctx.events.publish({ topic: 'boltcard', type: 'changed' })
  const lightning = () => ctx.modules.get('lightning') as LightningModule | undefined

  // --- BTCPay -------------------------------------------------------------------------------
  const merchantDir = join(ctx.dataDir, 'merchant')
  const notSetUp = () =>
    new FlashError(
      'boltcard.btcpay_not_set_up',
      'Flash Cards keep their money in BTCPay, and BTCPay is not set up by the box yet.',
      'Set up BTCPay on the Merchant page first.',
    )
  const funds: CardFunds =
    options.funds ??
    new BtcpayCardFunds(
      () => {
        const record = readSetupRecord(merchantDir)
        box.requireUnlocked()
        const creds = readCredentials(box, merchantDir)
        if (!record?.storeId || !creds?.apiKey) throw notSetUp()
        return new GreenfieldClient(record.btcpayUrl, { kind: 'token', apiKey: creds.apiKey })
      },
      () => {
        const id = readSetupRecord(merchantDir)?.storeId
        if (!id) throw notSetUp()
        return id
      },
    )

  // --- keys ---------------------------------------------------------------------------------
  const readKeys = (): KeysFile => {
    box.requireUnlocked()
    const raw = readSealedFile(box, keysPath, KEYS_PURPOSE)
    const file = raw ? (JSON.parse(raw.toString('utf8')) as KeysFile) : { cards: {} }
    if (file.k1) redact(file.k1)
    for (const k of Object.values(file.cards)) for (const v of Object.values(k)) redact(v)
    return file
  }
  const writeKeys = (f: KeysFile) =>
    writeSealedFile(box, keysPath, KEYS_PURPOSE, Buffer.from(JSON.stringify(f)))
  const toHex = (k: BoltcardKeys) => ({
    k0: hex(k.k0),
    k1: hex(k.k1),
    k2: hex(k.k2),
    k3: hex(k.k3),
    k4: hex(k.k4),
  })
  const fromHexKeys = (k: KeysFile['cards'][string]): BoltcardKeys => ({
    k0: fromHex(k.k0),
    k1: fromHex(k.k1),
    k2: fromHex(k.k2),
    k3: fromHex(k.k3),
    k4: fromHex(k.k4),
  })
  const uidHash = (k1: Bytes, uid: Bytes) =>
    createHash('sha256')
      .update(concat(new TextEncoder().encode('flashbox.boltcard.uid'), k1, uid))
      .digest('hex')

  /** Registers the card (by UID) on its pull payment and keeps its keys. */
  const registerCard = async (card: CardRow, uid: Bytes) => {
    const reg = await funds.register(card.pull_payment_id, uid, 'UpdateVersion')
    const file = readKeys()
    if (file.k1 && file.k1 !== hex(reg.keys.k1))
      throw new FlashError(
        'boltcard.issuer_changed',
        'BTCPay now issues cards with another key than before.',
        'Cards programmed before keep working only with the old BTCPay; reset and program them again.',
      )
    file.k1 = hex(reg.keys.k1)
    file.cards[card.id] = toHex(reg.keys)
    writeKeys(file)
    cards().programmed(card.id, uidHash(reg.keys.k1, uid), reg.version)
    return reg
  }
  const tapBase = () => {
    const b = baseUrl()
    return b ? `lnurlw://${b.replace(/^https?:\/\//, '')}/boltcard/tap` : undefined
  }
  const requireTapBase = () => {
    const t = tapBase()
    if (!t)
      throw new FlashError(
        'boltcard.no_public_address',
        'Cards need the box’s public address: the shop’s terminal reaches it when a card is tapped.',
        'Set the public address in Settings → Reachability, then program the card.',
      )
    return t
  }

  // --- views --------------------------------------------------------------------------------
  const view = async (c: CardRow): Promise<FlashCardView> => {
    let balanceSat: number | null = null
    try {
      balanceSat = await funds.remainingSat(c.pull_payment_id)
    } catch (err) {
      log.warn('card balance unavailable', { card: c.id, error: toUserError(err).code })
    }
    return {
      id: c.id,
      name: c.name,
      state: c.state,
      balanceSat,
      perTapSat: c.per_tap_sat,
      perDaySat: c.per_day_sat,
      spentTodaySat: cards().spentSince(c.id, Date.now() - 86_400_000),
      pullPaymentId: c.pull_payment_id,
      createdAt: new Date(c.created_at).toISOString(),
      ...(c.programmed_at ? { programmedAt: new Date(c.programmed_at).toISOString() } : {}),
      ...(c.last_used_at ? { lastUsedAt: new Date(c.last_used_at).toISOString() } : {}),
      ...(c.last_declined ? { lastDeclined: c.last_declined } : {}),
      ...untoldOf(c.id),
      ...(c.reset_pending_at !== null && c.uid_hash
        ? { resetPendingSince: new Date(c.reset_pending_at).toISOString() }
        : {}),
    }
  }
  /** Taps paid whose payouts BTCPay has not taken as paid yet (retried every 15 s). */
  const untoldOf = (id: string): Pick<FlashCardView, 'btcpayUntold'> => {
    const taps = cards().untold(id)
    if (taps.length === 0) return {}
    return {
      btcpayUntold: {
        taps: taps.length,
        sat: taps.reduce((n, t) => n + (t.amount_sat ?? 0), 0),
        reason: taps.at(-1)?.btcpay_reason ?? 'Not tried yet.',
      },
    }
  }
  const cardOf = (id: string): CardRow => {
    const c = cards().get(id)
    if (!c)
      throw new FlashError(
        'boltcard.unknown_card',
        'There is no such Flash Card.',
        'Reload Merchant → Flash Cards.',
      )
    return c
  }
  // --- top-ups ------------------------------------------------------------------------------
  // One at a time per card, in the same queue as the taps' bookings (lud03-withdraw.ts): each
  // reads the balance left and moves the card to a new pull payment, so no tap is claimed on a
  // pull payment being archived.
  const serialByCard = <T>(id: string, fn: () => Promise<T>): Promise<T> =>
    cards().serialized(id, fn)
  /**
   * A new pull payment for balance + top-up, the card moved onto it, the old one archived. With a
   * reference (a shop reward), the new pull payment carries it in its name and is looked for
   * first, so the same top-up is never added twice: when BTCPay already has it (a crash after it
   * was made), the card is moved onto it; when the card is already on it, nothing is done.
   */
  const topUp = (id: string, amountSat: number, reference?: string): Promise<string> =>
    serialByCard(id, async () => {
      const card = cardOf(id)
      const name = reference ? `Flash Card ${card.name} · ${reference}` : `Flash Card ${card.name}`
      const found = reference ? await funds.findPullPayment(name) : undefined
      // Already on it, or on it before and moved on since (an archived one was linked once: a
      // pull payment made here is archived only when the card leaves it).
      if (found && (found.id === card.pull_payment_id || found.archived)) return found.id
      if (card.state === 'frozen')
        throw new FlashError('boltcard.frozen', 'This card is frozen.', 'Issue a new card instead.')
      let ppId = found?.id
      if (!ppId) {
        const left = await funds.remainingSat(card.pull_payment_id)
        ppId = await funds.createPullPayment(name, left + amountSat)
      }
      // The box checks taps with the card's own keys, so the card needs no re-programming: its
      // payouts are claimed on the new pull payment from now on.
      await funds.archive(card.pull_payment_id)
      cards().setPullPayment(card.id, ppId)
      changed()
      return ppId
    })

  const reader = async (name?: string) =>
    options.connect ? options.connect(name) : connectCard(name ? { reader: name } : {})

  // --- taps ---------------------------------------------------------------------------------
  const settlement = new TapSettlement({
    store: cards,
    funds,
    lightning,
    log,
    ...(options.payWaitMs !== undefined ? { payWaitMs: options.payWaitMs } : {}),
  })
  const withdraw: WithdrawDeps = {
    get store() {
      return cards()
    },
    encryptionKey: () => {
      const k = readKeys().k1
      return k ? fromHex(k) : undefined
    },
    uidHash: (uid) => uidHash(fromHex(readKeys().k1!), uid),
    keysOf: (id) => {
      const k = readKeys().cards[id]
      return k ? fromHexKeys(k) : undefined
    },
    baseUrl,
    remainingSat: (c) => funds.remainingSat(c.pull_payment_id),
    invoiceAmount: async (pr) => {
      const l = lightning()
      if (!l)
        throw new LnurlError(503, 'The shop’s Lightning node is not running; try again later.')
      const p = await l.preparePayment(pr).catch((err: unknown) => {
        throw new LnurlError(400, `The invoice cannot be paid: ${toUserError(err).message}`)
      })
      if (p.amountless) throw new LnurlError(400, 'The invoice must name an amount.')
      return p.amountSat
    },
    claim: (card, k1, pr, amountSat) => settlement.claim(card, k1, pr, amountSat),
    pay: (card, k1, pr, amountSat) => settlement.pay(card, k1, pr, amountSat),
    onChange: changed,
  }

  /**
   * Marks the card wiped once the card on the reader answers with the factory K0 and is this card
   * (its UID read in that session); otherwise says why, and the card stays as it was.
   */
  const confirmBlank = async (t: ApduTransport, card: CardRow) => {
    const uid = await factoryBlankUid(t)
    if (!uid)
      throw new FlashError(
        'boltcard.reset_not_done',
        `The card on the reader still has keys: it is not reset.`,
        'Reset it again (Merchant → Flash Cards), on this computer’s NFC reader or with the Boltcard app.',
      )
    const k1 = readKeys().k1
    if (!k1 || uidHash(fromHex(k1), uid) !== card.uid_hash)
      throw new FlashError(
        'boltcard.other_card',
        `The blank card on the reader is not “${card.name}”.`,
        'Put this card on the reader.',
      )
    cards().wiped(card.id)
    log.info('card reset confirmed: it answers with factory keys', { card: card.id })
  }

  /** Settles taps a crash left on the way, or whose payment was still in flight. */
  const settleUnfinished = async () => {
    if ((await settlement.reconcile()) > 0) changed()
  }
  let settleTimer: NodeJS.Timeout | undefined

  // --- the Boltcard NFC Programmer app (DEEPLINK.md) ------------------------------------------
  const refusal = (c: Extract<LinkClaim, { ok: false }>): LnurlError => {
    const again = 'Make a new one on Merchant → Flash Cards.'
    const when = c.at ? new Date(c.at).toLocaleTimeString('en-GB') : ''
    if (c.why === 'used')
      return new LnurlError(
        410,
        `This link was used already, at ${when}: it gives a card's keys only once. ${again}`,
      )
    if (c.why === 'expired') return new LnurlError(410, `This link expired at ${when}. ${again}`)
    return new LnurlError(404, `This link is not one this box made. ${again}`)
  }
  const keysAnswer = async (token: string, body: unknown): Promise<LnurlHttpResponse> => {
    const tokenHash = linkTokenHash(token)
    let claimed = false
    try {
      const claim = cards().links.claim(tokenHash, now())
      if (!claim.ok) throw refusal(claim)
      claimed = true
      const link = claim.link
      const card = cardOf(link.card_id)
      const b = (body ?? {}) as { UID?: unknown; LNURLW?: unknown }
      let keys: KeysFile['cards'][string]
      if (link.action === 'program') {
        if (card.state === 'frozen')
          throw new LnurlError(400, 'This card is frozen; issue a new card instead.')
        if (typeof b.UID !== 'string' || !/^[0-9a-fA-F]{14}$/.test(b.UID))
          throw new LnurlError(400, 'The UID is required and should be 7 bytes.')
        requireTapBase()
        keys = toHex((await registerCard(card, fromHex(b.UID))).keys)
      } else {
        const sun = typeof b.LNURLW === 'string' ? sunParameters(b.LNURLW) : undefined
        const file = readKeys()
        const own = file.cards[card.id]
        const picc = sun && file.k1 ? decryptPiccData(fromHex(file.k1), sun.p) : undefined
        if (!picc || !own || uidHash(fromHex(file.k1!), picc.uid) !== card.uid_hash)
          throw new LnurlError(400, `This is not the card “${card.name}” of this link.`)
        keys = own
        // The app wipes the card once it has the keys, but the box does not see it do so: the
        // reset waits for a confirmation (confirmReset), and a tap with the card's keys meanwhile
        // shows it did not happen (lud03-withdraw.ts).
        cards().resetPending(card.id, now())
      }
      claimed = false // from here the keys are out: the link stays used whatever happens
      changed()
      log.info('Boltcard app link used', { card: card.id, action: link.action })
      return lnurlJson({
        protocol_name: 'new_bolt_card_response',
        protocol_version: 1,
        card_name: card.name,
        LNURLW: requireTapBase(),
        K0: keys.k0.toUpperCase(),
        K1: keys.k1.toUpperCase(),
        K2: keys.k2.toUpperCase(),
        K3: keys.k3.toUpperCase(),
        K4: keys.k4.toUpperCase(),
      })
    } catch (err) {
      if (claimed) cards().links.release(tokenHash)
      if (err instanceof LnurlError) return lnurlErrorResponse(err)
      if (err instanceof FlashError) return lnurlErrorResponse(new LnurlError(400, err.message))
      throw err
    }
  }

  return {
    name: 'boltcard',
    async start() {
      await settleUnfinished()
      settleTimer = setInterval(() => {
        if (cards().unfinished().length > 0 || cards().untold().length > 0)
          void settleUnfinished().catch(() => undefined)
      }, 15_000)
      settleTimer.unref()
    },
    async stop() {
      clearInterval(settleTimer)
      store?.close()
      store = undefined
    },
    async publicGet(path, query) {
      if (path === '/boltcard/tap') return withdrawRequest(withdraw, query)
      if (path === '/boltcard/callback') return withdrawCallback(withdraw, query)
      return undefined
    },
    async publicPost(path, body) {
      const m = /^\/boltcard\/keys\/([0-9a-f]{32})$/.exec(path)
      return m ? keysAnswer(m[1]!, body) : undefined
    },
    rewardTopUp: (cardId, amountSat, reference) => topUp(cardId, amountSat, reference),
    cardName: (cardId) => cards().get(cardId)?.name,
    handlers: {
      async cards(): Promise<FlashCardsView> {
        await settleUnfinished().catch(() => undefined)
        const t = tapBase()
        return {
          cards: await Promise.all(cards().list().map(view)),
          ...(t ? { tapUrl: t } : {}),
        }
      },
      async readers() {
        return listReaders()
      },
      async issue(input) {
        const ppId = await funds.createPullPayment(`Flash Card ${input.name}`, input.amountSat)
        const id = randomBytes(8).toString('hex')
        cards().create({
          id,
          name: input.name,
          pull_payment_id: ppId,
          per_tap_sat: input.perTapSat,
          per_day_sat: input.perDaySat,
        })
        changed()
        return view(cardOf(id))
      },
      async program(input) {
        const card = cardOf(input.id)
        if (card.state === 'frozen')
          throw new FlashError(
            'boltcard.frozen',
            'This card is frozen.',
            'Issue a new card instead.',
          )
        const lnurlw = requireTapBase()
        box.requireUnlocked()
        const t = await reader(input.reader)
        try {
          await programCard(t, async (uid) => {
            const reg = await registerCard(card, uid)
            return { keys: reg.keys, lnurlw }
          })
        } finally {
          t.close()
        }
        changed()
        return view(cardOf(card.id))
      },
      async programmingLink(input) {
        const card = cardOf(input.id)
        const base = baseUrl()
        if (!base) requireTapBase()
        if (input.action === 'program' && card.state === 'frozen')
          throw new FlashError(
            'boltcard.frozen',
            'This card is frozen.',
            'Issue a new card instead.',
          )
        if (input.action === 'reset' && !card.uid_hash)
          throw new FlashError(
            'boltcard.not_programmed',
            'This card carries no keys of this shop: it was never programmed, or it was reset.',
            'Program it first, on Merchant → Flash Cards.',
          )
        const token = randomBytes(16).toString('hex')
        const at = now()
        const expiresAt = at + LINK_TTL_MS
        cards().links.add(linkTokenHash(token), card.id, input.action, at, LINK_TTL_MS)
        const url = `${base}/boltcard/keys/${token}`
        const deepLink = `boltcard://${input.action}?url=${encodeURIComponent(url)}`
        // The token opens the card's keys: it is shown to the owner and kept out of every log.
        redact(token)
        return {
          deepLink,
          qr: await qrDataUrl(deepLink),
          expiresAt: new Date(expiresAt).toISOString(),
        }
      },
      async reset(input) {
        const card = cardOf(input.id)
        box.requireUnlocked()
        const t = await reader(input.reader)
        try {
          await resetCard(t, async (url) => {
            const file = readKeys()
            const sun = sunParameters(url)
            const picc = sun && file.k1 ? decryptPiccData(fromHex(file.k1), sun.p) : undefined
            const keys = file.cards[card.id]
            if (!picc || !keys || uidHash(fromHex(file.k1!), picc.uid) !== card.uid_hash)
              throw new FlashError(
                'boltcard.other_card',
                `The card on the reader is not “${card.name}”.`,
                'Put this card on the reader, or reset the other one from its own row.',
              )
            return fromHexKeys(keys)
          })
          // Wiped only once the card answers with the factory keys.
          await confirmBlank(t, card)
        } finally {
          t.close()
        }
        changed()
        return view(cardOf(card.id))
      },
      async confirmReset(input) {
        const card = cardOf(input.id)
        if (card.reset_pending_at === null || !card.uid_hash)
          throw new FlashError(
            'boltcard.no_reset_pending',
            'No reset of this card is waiting to be confirmed.',
            'Reload Merchant → Flash Cards.',
          )
        if (input.how === 'owner') {
          cards().wiped(card.id)
          log.info('card reset confirmed by the owner', { card: card.id })
        } else {
          box.requireUnlocked()
          const t = await reader(input.reader)
          try {
            await confirmBlank(t, card)
          } finally {
            t.close()
          }
        }
        changed()
        return view(cardOf(card.id))
      },
      async topUp(input) {
        await topUp(input.id, input.amountSat)
        return view(cardOf(input.id))
      },
      async setLimits(input) {
        cardOf(input.id)
        cards().setLimits(input.id, input.perTapSat, input.perDaySat)
        changed()
        return view(cardOf(input.id))
      },
      async freeze(input) {
        const card = cardOf(input.id)
        await funds.archive(card.pull_payment_id)
        cards().setState(card.id, 'frozen')
        changed()
        return view(cardOf(card.id))
      },
    },
  }
}
