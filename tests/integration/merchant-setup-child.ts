// A child process that runs the box's BTCPay set-up saga (src/core/merchant/btcpay-setup-saga.ts)
// and, with PAUSE=1, stops after each recorded step until a line arrives on stdin — so the test
// can SIGKILL it exactly between two steps. Prints `done <step>` / `finished` / `error <code>`.
import { createInterface } from 'node:readline'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import { BtcpaySetup } from '../../src/core/merchant/btcpay-setup-saga'
import { FlashError } from '../../src/core/errors'

const env = process.env
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

async function main() {
  const box = boxKeyFor(env.DATA_DIR!)
  await box.enterPassword(env.OWNER_PASSWORD!)
  const saga = new BtcpaySetup({
    dir: env.MERCHANT_DIR!,
    box,
    btcpayUrl: env.BTCPAY_URL!,
    lightning: async () => ({
      server: env.LND_SERVER!,
      macaroonHex: env.MACAROON_HEX!,
      certThumbprint: env.THUMBPRINT!,
    }),
    derivationScheme: async () => env.SCHEME!,
    webhookUrl: env.WEBHOOK_URL!,
    onStep: async (step, state) => {
      if (state !== 'done') return
      process.stdout.write(`done ${step}\n`)
      if (env.PAUSE === '1') await lines.next()
    },
  })
  await saga.run({ shopName: env.SHOP!, currency: 'EUR' })
  process.stdout.write('finished\n')
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stdout.write(`error ${err instanceof FlashError ? err.code : String(err)}\n`)
  process.exit(1)
})
