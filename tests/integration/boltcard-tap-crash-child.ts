// A child process that is the box for one Flash Card tap: the terminal's callback through
// lud03-withdraw.ts and the tap's saga (tap-settlement.ts), the card's funds in BTCPay (the
// Greenfield simulator), the payment through the box's payment saga (lightning/payment-saga.ts)
// on an LND of the world. With PAUSE_AT=<step> it stops after that recorded step, so the test can
// SIGKILL it there. With MODE=reconcile it is the box started again: the payment saga asks LND
// about what was in flight, the tap saga settles what the crash left, and the tap's row is
// printed. Prints `step <name>`, `answer <json>`, `taps <json>`, or `error <text>`.
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { BtcpayCardFunds } from '../../src/core/boltcard/card-funds'
import { CardStore } from '../../src/core/boltcard/card-store'
import { withdrawCallback, type WithdrawDeps } from '../../src/core/boltcard/lud03-withdraw'
import { TapSettlement, type TapLightning } from '../../src/core/boltcard/tap-settlement'
import { PaymentSaga, PaymentStore, paymentView } from '../../src/core/lightning/payment-saga'
import { silentLogger } from '../../src/core/log'
import { GreenfieldClient } from '../../src/core/merchant/greenfield-client'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning & {
  parsePaymentRequest(args: { request: string }): {
    id: string
    tokens?: number
    destination: string
    description?: string
  }
}
const env = process.env
const say = (line: string) => process.stdout.write(`${line}\n`)

async function main() {
  const { lnd } = ln.authenticatedLndGrpc({
    socket: env.LND_SOCKET!,
    cert: env.LND_CERT!,
    macaroon: env.LND_MACAROON!,
  })
  const store = new CardStore(env.CARD_DB!)
  const payments = new PaymentStore(env.PAY_DB!)
  const saga = new PaymentSaga({
    store: payments,
    lnd: () => lnd,
    log: silentLogger,
    onUpdate: () => {},
  })
  // The Lightning module's own three calls, on the same saga (lightning-module.ts).
  const lightning: TapLightning = {
    async preparePayment(request) {
      const d = ln.parsePaymentRequest({ request })
      return {
        request,
        hash: d.id,
        amountSat: d.tokens ?? 0,
        amountless: false,
        feeLimitSat: 100,
        destination: d.destination,
        description: d.description ?? '',
      }
    },
    sendPayment: (p, waitMs) => saga.pay({ ...p }, waitMs),
    paymentState: (hash) => {
      const row = payments.get(hash)
      return row ? paymentView(row) : undefined
    },
  }
  const funds = new BtcpayCardFunds(
    () => new GreenfieldClient(env.BTCPAY_URL!, { kind: 'token', apiKey: env.API_KEY! }),
    () => env.STORE_ID!,
  )
  const settlement = new TapSettlement({
    store: () => store,
    funds,
    lightning: () => lightning,
    log: silentLogger,
    payWaitMs: 60_000,
    onStep: async (_k1, step) => {
      say(`step ${step}`)
      if (step === env.PAUSE_AT) await new Promise(() => setInterval(() => {}, 1_000))
    },
  })
  if (env.MODE === 'reconcile') {
    await saga.reconcile()
    await settlement.reconcile()
    say(`taps ${JSON.stringify(env.K1!.split(',').map((k1) => store.tap(k1)))}`)
    return
  }
  const k1 = env.K1!
  const deps: WithdrawDeps = {
    store,
    encryptionKey: () => undefined,
    uidHash: () => '',
    keysOf: () => undefined,
    baseUrl: () => 'https://shop.example',
    remainingSat: (c) => funds.remainingSat(c.pull_payment_id),
    invoiceAmount: async (pr) => (await lightning.preparePayment(pr)).amountSat,
    claim: (c, tapK1, pr, sat) => settlement.claim(c, tapK1, pr, sat),
    pay: (c, tapK1, pr, sat) => settlement.pay(c, tapK1, pr, sat),
    onChange: () => {},
  }
  const r = await withdrawCallback(deps, new URLSearchParams({ k1, pr: env.BOLT11! }))
  say(`answer ${r.body}`)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say(`error ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  },
)
