// Setting up BTCPay through its Greenfield API, as a saga that a crash may stop at any point and a
// re-run continues:
//
//   admin → store → apiKey → lightning → onchain → webhook → pointOfSale
//
//   admin       the first administrator (POST /api/v1/users needs no auth while BTCPay has none);
//               e-mail and a generated password are sealed under the box key BEFORE the call, so
//               a crash after BTCPay made the user is recognised by logging in with them.
//   store       the shop (name, currency), made with the admin's Basic auth; found again by name.
//   apiKey      a key holding only `btcpay.store.canmodifystoresettings:<storeId>` — one store,
//               no server rights (payment methods, webhooks and the PoS need that policy; it
//               includes invoices, pull payments and payouts of that store — among them
//               canmodifyinvoices, which marking a sale settled inside the box needs:
//               internal-settlement.ts). Boxes set up earlier hold the same key, so nothing changes.
//   lightning   BTC-LN: `type=lnd-rest;server=…;macaroon=…;certthumbprint=…` — the BTCPay macaroon
//               and LND's certificate pinned by thumbprint; never `allowinsecure` (refused here).
//   onchain     BTC-CHAIN: the box wallet's account xpub (watch-only: BTCPay never holds a key).
//   webhook     into the box, with an HMAC secret generated and sealed BEFORE the call; found again
//               by URL and given the box's secret, so a crash never leaves a second webhook.
//   pointOfSale BTCPay's PoS app for the shop's tablet; found again by name.
//
// Each step's result is written atomically to setup.json (public ids) and the sealed credentials
// file (password, API key, webhook secret) before the next step starts. PUTs are idempotent.
// The one gap Greenfield leaves: it cannot list API keys, so a crash between BTCPay making the key
// and the box writing it down leaves that unused key in BTCPay (it is never used; the re-run makes
// and records another).
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import { redact } from '../log'
import type { BoxKey } from '../secrets/box-key'
import { readSealedFile, writeSealedFile } from '../secrets/box-key-file'
import { WEBHOOK_EVENTS } from './btcpay-webhook'
import { GreenfieldClient, GreenfieldHttpError } from './greenfield-client'
import { btcpayUnreachable, greenfieldError } from './greenfield-errors'

export const SETUP_STEPS = [
  'admin',
  'store',
  'apiKey',
  'lightning',
  'onchain',
  'webhook',
  'pointOfSale',
] as const
export type SetupStep = (typeof SETUP_STEPS)[number]

export const STEP_TITLES: Record<SetupStep, string> = {
  admin: 'BTCPay administrator',
  store: 'Shop',
  apiKey: 'Key for the box',
  lightning: 'Lightning',
  onchain: 'On-chain wallet (watch-only)',
  webhook: 'Payment notices to the box',
  pointOfSale: 'Point of sale',
}

const SetupRecordSchema = z.object({
  v: z.literal(1),
  btcpayUrl: z.string(),
  adminEmail: z.string().optional(),
  adminUserId: z.string().optional(),
  storeId: z.string().optional(),
  storeName: z.string().optional(),
  currency: z.string().optional(),
  apiKeyLabel: z.string().optional(),
  lightning: z.object({ server: z.string(), certThumbprint: z.string() }).optional(),
  onchain: z.object({ derivationScheme: z.string() }).optional(),
  webhookId: z.string().optional(),
  webhookUrl: z.string().optional(),
  posAppId: z.string().optional(),
  posUrl: z.string().optional(),
  done: z.array(z.enum(SETUP_STEPS)),
  updatedAt: z.string(),
})
export type SetupRecord = z.infer<typeof SetupRecordSchema>

const CredentialsSchema = z.object({
  adminEmail: z.string(),
  adminPassword: z.string(),
  apiKey: z.string().optional(),
  webhookSecret: z.string().optional(),
})
export type BtcpayCredentials = z.infer<typeof CredentialsSchema>

export const CREDENTIALS_PURPOSE = 'btcpay.credentials'

export interface LightningConnection {
  /** LND's REST address as BTCPay reaches it, e.g. https://lnd:8080/ */
  readonly server: string
  readonly macaroonHex: string
  /** SHA-256 of LND's TLS certificate (DER), hex. */
  readonly certThumbprint: string
}

export interface SetupInput {
  readonly shopName: string
  readonly currency: string
}

export interface SetupDeps {
  /** <dataDir>/merchant */
  readonly dir: string
  readonly box: BoxKey
  readonly btcpayUrl: string
  readonly lightning: () => Promise<LightningConnection>
  /** NBXplorer derivation scheme of the box wallet's account (xpub…, xpub…-[taproot]). */
  readonly derivationScheme: () => Promise<string>
  /** Where BTCPay posts webhooks to reach the box. */
  readonly webhookUrl: string
  /** Called after each step is recorded (awaited: a test may hold the saga here). */
  readonly onStep?: (step: SetupStep, state: 'running' | 'done') => void | Promise<void>
}

export const setupPaths = (dir: string) => ({
  record: join(dir, 'setup.json'),
  credentials: join(dir, 'btcpay-credentials.json'),
})

export function readSetupRecord(dir: string): SetupRecord | null {
  const p = setupPaths(dir).record
  if (!existsSync(p)) return null
  const r = SetupRecordSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')))
  if (!r.success)
    throw new FlashError(
      'merchant.setup_damaged',
      'The record of the BTCPay set-up (merchant/setup.json) is damaged.',
      'Restore the box from a backup in Settings → Backup.',
    )
  return r.data
}

export function readCredentials(box: BoxKey, dir: string): BtcpayCredentials | null {
  const raw = readSealedFile(box, setupPaths(dir).credentials, CREDENTIALS_PURPOSE)
  if (!raw) return null
  const c = CredentialsSchema.parse(JSON.parse(raw.toString('utf8')))
  redact(c.adminPassword)
  if (c.apiKey) redact(c.apiKey)
  if (c.webhookSecret) redact(c.webhookSecret)
  return c
}

/** lnd-rest connection string for BTCPay; refuses anything that is not pinned TLS. */
export function lndRestConnectionString(l: LightningConnection): string {
  if (!/^https:\/\//.test(l.server))
    throw new FlashError(
      'merchant.lightning_insecure',
      'The box connects BTCPay to Lightning only over TLS with a pinned certificate.',
      'This is a fault in the box; report it.',
    )
  if (!/^[0-9a-f]{64}$/.test(l.certThumbprint))
    throw new FlashError(
      'merchant.lightning_no_thumbprint',
      'The box does not know the fingerprint of Lightning’s certificate, so it will not connect BTCPay to it.',
      'Start Lightning on the Lightning page first, then run the set-up again.',
    )
  if (!/^[0-9a-f]+$/i.test(l.macaroonHex))
    throw new FlashError(
      'merchant.lightning_no_macaroon',
      'The box has no Lightning key (macaroon) for BTCPay yet.',
      'Start Lightning on the Lightning page and wait until it is ready, then run the set-up again.',
    )
  const cs = `type=lnd-rest;server=${l.server};macaroon=${l.macaroonHex};certthumbprint=${l.certThumbprint}`
  if (/allowinsecure/i.test(cs))
    throw new Error('unreachable: allowinsecure in a connection string')
  return cs
}

const KEY_PERMISSIONS = (storeId: string) => [`btcpay.store.canmodifystoresettings:${storeId}`]
const POS_NAME = 'Flash Box till'

export class BtcpaySetup {
  private record: SetupRecord
  private creds: BtcpayCredentials | null

  constructor(private readonly d: SetupDeps) {
    mkdirSync(d.dir, { recursive: true, mode: 0o700 })
    this.record = readSetupRecord(d.dir) ?? {
      v: 1,
      btcpayUrl: d.btcpayUrl,
      done: [],
      updatedAt: new Date().toISOString(),
    }
    this.creds = readCredentials(d.box, d.dir)
  }

  get state(): SetupRecord {
    return this.record
  }

  private save(patch: Partial<SetupRecord>, step?: SetupStep): void {
    const done =
      step && !this.record.done.includes(step) ? [...this.record.done, step] : this.record.done
    this.record = { ...this.record, ...patch, done, updatedAt: new Date().toISOString() }
    writeFileAtomicSync(
      setupPaths(this.d.dir).record,
      JSON.stringify(this.record, null, 2) + '\n',
      0o600,
    )
  }

  private saveCreds(c: BtcpayCredentials): void {
    writeSealedFile(
      this.d.box,
      setupPaths(this.d.dir).credentials,
      CREDENTIALS_PURPOSE,
      JSON.stringify(c),
    )
    this.creds = c
  }

  private basic(): GreenfieldClient {
    const c = this.creds!
    return new GreenfieldClient(this.d.btcpayUrl, {
      kind: 'basic',
      email: c.adminEmail,
      password: c.adminPassword,
    })
  }

  private keyed(): GreenfieldClient {
    return new GreenfieldClient(this.d.btcpayUrl, { kind: 'token', apiKey: this.creds!.apiKey! })
  }

  /** Runs every step not yet done, in order. */
  async run(input: SetupInput): Promise<SetupRecord> {
    this.d.box.requireUnlocked()
    if (
      this.record.storeName &&
      this.record.storeName !== input.shopName &&
      this.record.done.includes('store')
    ) {
      // The shop exists: a new name is a rename, not a second store.
      input = { ...input, shopName: this.record.storeName }
    }
    for (const step of SETUP_STEPS) {
      if (this.record.done.includes(step)) continue
      await this.d.onStep?.(step, 'running')
      await this.steps[step](input)
      await this.d.onStep?.(step, 'done')
    }
    return this.record
  }

  private readonly steps: Record<SetupStep, (i: SetupInput) => Promise<void>> = {
    admin: async () => {
      if (!this.creds) {
        const email = `owner-${randomBytes(4).toString('hex')}@flashbox.local`
        const password = randomBytes(24).toString('base64url')
        redact(password)
        this.saveCreds({ adminEmail: email, adminPassword: password })
      }
      const c = this.creds!
      const anon = new GreenfieldClient(this.d.btcpayUrl, { kind: 'none' })
      try {
        const u = await anon.raw<{ id: string }>('POST', '/api/v1/users', {
          email: c.adminEmail,
          password: c.adminPassword,
          isAdministrator: true,
          sendInvitationEmail: false,
        })
        this.save({ adminEmail: c.adminEmail, adminUserId: u.id }, 'admin')
        return
      } catch (err) {
        if (
          !(err instanceof GreenfieldHttpError) ||
          (err.status !== 401 && err.status !== 403 && err.status !== 422)
        )
          throw await this.wrap(err, 'creating the BTCPay administrator')
      }
      // BTCPay already has an administrator (or this e-mail): ours if our password opens it.
      try {
        const me = await this.basic().raw<{ id: string; roles?: string[] }>(
          'GET',
          '/api/v1/users/me',
        )
        this.save({ adminEmail: c.adminEmail, adminUserId: me.id }, 'admin')
      } catch (err) {
        if (err instanceof GreenfieldHttpError && err.status === 401)
          throw new FlashError(
            'merchant.btcpay_has_owner',
            'BTCPay already has an administrator that the box did not make, so the box cannot set it up.',
            'Use a BTCPay this box has not set up before, or set the store up by hand in BTCPay itself.',
          )
        throw await this.wrap(err, 'logging in to BTCPay')
      }
    },

    store: async ({ shopName, currency }) => {
      const what = 'creating the shop in BTCPay'
      const gf = this.basic()
      const stores = await gf.call<{ id: string; name: string }[]>(
        'GET',
        '/api/v1/stores',
        undefined,
        what,
      )
      const found = stores.find((s) => s.name === shopName)
      const store =
        found ??
        (await gf.call<{ id: string; name: string }>(
          'POST',
          '/api/v1/stores',
          { name: shopName, defaultCurrency: currency, speedPolicy: 'MediumSpeed' },
          what,
        ))
      this.save({ storeId: store.id, storeName: shopName, currency }, 'store')
    },

    apiKey: async () => {
      const what = 'making the box’s BTCPay key'
      const storeId = this.record.storeId!
      if (this.creds!.apiKey) {
        try {
          await this.keyed().raw('GET', '/api/v1/api-keys/current')
          this.save({ apiKeyLabel: 'Flash Box' }, 'apiKey')
          return
        } catch (err) {
          if (!(err instanceof GreenfieldHttpError && err.status === 401))
            throw await this.wrap(err, what)
        }
      }
      const k = await this.basic().call<{ apiKey: string }>(
        'POST',
        '/api/v1/api-keys',
        { label: 'Flash Box', permissions: KEY_PERMISSIONS(storeId) },
        what,
      )
      redact(k.apiKey)
      this.saveCreds({ ...this.creds!, apiKey: k.apiKey })
      this.save({ apiKeyLabel: 'Flash Box' }, 'apiKey')
    },

    lightning: async () => {
      const l = await this.d.lightning()
      redact(l.macaroonHex)
      const cs = lndRestConnectionString(l)
      await this.keyed().call(
        'PUT',
        `/api/v1/stores/${this.record.storeId}/payment-methods/BTC-LN`,
        { enabled: true, config: { connectionString: cs } },
        'connecting Lightning to BTCPay',
      )
      this.save({ lightning: { server: l.server, certThumbprint: l.certThumbprint } }, 'lightning')
    },

    onchain: async () => {
      const scheme = await this.d.derivationScheme()
      if (/[xtuvyz]prv/i.test(scheme))
        throw new FlashError(
          'merchant.onchain_private_key',
          'The box gives BTCPay only a public key, never a private one.',
          'This is a fault in the box; report it.',
        )
      await this.keyed().call(
        'PUT',
        `/api/v1/stores/${this.record.storeId}/payment-methods/BTC-CHAIN`,
        { enabled: true, config: { derivationScheme: scheme, label: 'Flash Box wallet' } },
        'connecting the on-chain wallet to BTCPay',
      )
      this.save({ onchain: { derivationScheme: scheme } }, 'onchain')
    },

    webhook: async () => {
      const what = 'connecting BTCPay’s payment notices to the box'
      if (!this.creds!.webhookSecret) {
        const secret = randomBytes(32).toString('base64url')
        redact(secret)
        this.saveCreds({ ...this.creds!, webhookSecret: secret })
      }
      const secret = this.creds!.webhookSecret!
      const storeId = this.record.storeId!
      const gf = this.keyed()
      const hooks = await gf.call<{ id: string; url: string }[]>(
        'GET',
        `/api/v1/stores/${storeId}/webhooks`,
        undefined,
        what,
      )
      const body = {
        url: this.d.webhookUrl,
        enabled: true,
        automaticRedelivery: true,
        secret,
        authorizedEvents: WEBHOOK_EVENTS,
      }
      const found = hooks.find((h) => h.url === this.d.webhookUrl)
      const hook = found
        ? await gf.call<{ id: string }>('PUT', `/api/v1/webhooks/${found.id}`, body, what)
        : await gf.call<{ id: string }>('POST', `/api/v1/stores/${storeId}/webhooks`, body, what)
      this.save({ webhookId: found?.id ?? hook.id, webhookUrl: this.d.webhookUrl }, 'webhook')
    },

    pointOfSale: async ({ currency }) => {
      const what = 'making the point of sale in BTCPay'
      const storeId = this.record.storeId!
      const gf = this.keyed()
      const apps = await gf.call<{ id: string; appName: string; appType: string }[]>(
        'GET',
        `/api/v1/stores/${storeId}/apps`,
        undefined,
        what,
      )
      const found = apps.find((a) => a.appName === POS_NAME && a.appType === 'PointOfSale')
      const app =
        found ??
        (await gf.call<{ id: string }>(
          'POST',
          `/api/v1/stores/${storeId}/apps/pos`,
          {
            appName: POS_NAME,
            title: this.record.storeName,
            currency,
            defaultView: 'Light',
            showCustomAmount: true,
          },
          what,
        ))
      this.save(
        { posAppId: app.id, posUrl: `${this.d.btcpayUrl.replace(/\/$/, '')}/apps/${app.id}/pos` },
        'pointOfSale',
      )
    },
  }

  private async wrap(err: unknown, what: string): Promise<FlashError> {
    if (err instanceof FlashError) return err
    if (err instanceof GreenfieldHttpError) return greenfieldError(err.status, err.body, what)
    return btcpayUnreachable(what, err)
  }
}
