// SIMULATOR — test-only, never imported by production code. BTCPay Server's Greenfield API
// (v1, BTCPay 2.x, from its swagger files in BTCPayServer/wwwroot/swagger/v1) for the endpoints the
// box uses, one file per API area. Stateful, in memory; permissions enforced per API key.
//
//   const btcpay = await startBtcpaySimulator({ network: 'regtest' })
//   btcpay.url  // http://127.0.0.1:<port>; btcpay.sim is the state; await btcpay.close()
//
// Adding an area: write `<area>.ts` exporting `routes(sim, opts)` → GreenfieldRoute[] and add it
// to AREAS below (see /work/wt/btcpay-NOTES.md and tests/simulators/README.md).
import * as bitcoin from 'bitcoinjs-lib'
import * as apikeys from './apikeys'
import * as apps from './apps'
import * as boltcards from './boltcards'
import {
  Greenfield,
  ok,
  serveGreenfield,
  type GreenfieldRoute,
  type GreenfieldServer,
} from './greenfield'
import * as invoices from './invoices'
import * as paymentMethods from './payment-methods'
import * as payouts from './payouts'
import * as pullPayments from './pull-payments'
import * as stores from './stores'
import * as users from './users'
import * as webhooks from './webhooks'

export interface BtcpaySimulatorOptions {
  readonly network?: 'regtest' | 'testnet' | 'mainnet'
  readonly host?: string
  readonly port?: number
  /** Fiat per BTC (default USD 100 000, EUR 90 000, CHF 85 000, GBP 80 000). */
  readonly rates?: Readonly<Record<string, number>>
  /** Delays before automatic webhook redeliveries (BTCPay: 10 s, 1 min, 10 min). */
  readonly webhookRetryDelaysMs?: readonly number[]
  /** How often unpaid invoices are checked for expiry (default 1 s). */
  readonly clockMs?: number
  readonly log?: (line: string) => void
}

export interface AreaContext {
  readonly network: bitcoin.Network
}

/** Every API area, one file each. */
const AREAS: ((
  sim: Greenfield,
  o: BtcpaySimulatorOptions,
  ctx: AreaContext,
) => GreenfieldRoute[])[] = [
  () => users.routes(),
  () => apikeys.routes(),
  () => stores.routes(),
  (sim, _o, ctx) => paymentMethods.routes(sim, ctx),
  (sim, _o, ctx) => invoices.routes(sim, ctx),
  (sim, o) =>
    webhooks.routes(sim, o.webhookRetryDelaysMs ? { retryDelaysMs: o.webhookRetryDelaysMs } : {}),
  () => pullPayments.routes(),
  () => payouts.routes(),
  () => apps.routes(),
  () => boltcards.routes(),
]

// The BTCPay release whose Greenfield routes this simulator imitates: the one the box pins
// (src/core/stack/images.ts). The simulator's test fails when the pin moves without it.
export const IMITATED_BTCPAY_VERSION = '2.4.2'

const misc: GreenfieldRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/health',
    auth: { kind: 'none' },
    handle: () => ok({ synchronized: true }),
  },
  {
    method: 'GET',
    path: '/api/v1/server/info',
    auth: { kind: 'user' },
    handle: () =>
      ok({
        version: `${IMITATED_BTCPAY_VERSION}-simulator`,
        onion: null,
        supportedPaymentMethods: ['BTC-CHAIN', 'BTC-LN'],
        fullySynched: true,
        syncStatus: [],
      }),
  },
]

export interface BtcpaySimulator extends GreenfieldServer {
  /** Checks invoice expiry now (the clock does it every `clockMs`). */
  tick(): void
}

export async function startBtcpaySimulator(
  o: BtcpaySimulatorOptions = {},
): Promise<BtcpaySimulator> {
  const network =
    o.network === 'mainnet'
      ? bitcoin.networks.bitcoin
      : o.network === 'testnet'
        ? bitcoin.networks.testnet
        : bitcoin.networks.regtest
  const sim = new Greenfield(
    o.log ?? (() => {}),
    network,
    o.rates ?? { USD: 100_000, EUR: 90_000, CHF: 85_000, GBP: 80_000 },
  )
  const ctx: AreaContext = { network }
  const routes = [...misc, ...AREAS.flatMap((a) => a(sim, o, ctx))]
  const server = await serveGreenfield(sim, routes, { host: o.host, port: o.port })
  const tick = () => invoices.expireInvoices(sim)
  const clock = setInterval(tick, o.clockMs ?? 1000)
  clock.unref()
  sim.log(`BTCPAY SIMULATOR Greenfield on ${server.url}`)
  return {
    ...server,
    tick,
    async close() {
      clearInterval(clock)
      webhooks.stopWebhooks(sim)
      paymentMethods.stopLightning(sim)
      await server.close()
    },
  }
}
