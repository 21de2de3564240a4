// Container / child-process entry: configuration from the environment, then startMint().
//   MINT_PORT (3338), MINT_HOST (0.0.0.0 in the container), MINT_DATA_DIR (/data),
//   MINT_CONFIG_JSON (MintConfig as JSON), MINT_BACKEND=fake|lnd,
//   MINT_FAKE_INCOMING_DELAY_MS, MINT_FAKE_OUTGOING_DELAY_MS, MINT_FAKE_FEE_MSAT,
//   MINT_LND_SOCKET, MINT_LND_CERT_PATH, MINT_LND_MACAROON_PATH, MINT_SEED_PASSPHRASE.
// Prints `MINT_READY <url>` on stdout once listening.
import { startMint, type BackendSpec } from './index'
import { createLogger } from '../../../src/core/log'

const env = process.env
const log = createLogger('mint')
const num = (v: string | undefined, d: number) => (v === undefined || v === '' ? d : Number(v))

async function main() {
  const backend: BackendSpec =
    env.MINT_BACKEND === 'lnd'
      ? {
          kind: 'lnd',
          socket: env.MINT_LND_SOCKET ?? 'lnd:10009',
          certPath: env.MINT_LND_CERT_PATH,
          macaroonPath: env.MINT_LND_MACAROON_PATH ?? '/lnd/admin.macaroon',
        }
      : {
          kind: 'fake',
          incomingPayDelayMs: num(env.MINT_FAKE_INCOMING_DELAY_MS, 0),
          outgoingDelayMs: num(env.MINT_FAKE_OUTGOING_DELAY_MS, 0),
          feeMsat: num(env.MINT_FAKE_FEE_MSAT, 1000),
        }
  const running = await startMint({
    port: num(env.MINT_PORT, 3338),
    host: env.MINT_HOST ?? '127.0.0.1',
    dataDir: env.MINT_DATA_DIR ?? '/data',
    backend,
    config: env.MINT_CONFIG_JSON ? JSON.parse(env.MINT_CONFIG_JSON) : {},
    seedPassphrase: env.MINT_SEED_PASSPHRASE || undefined,
    log,
  })
  delete env.MINT_SEED_PASSPHRASE
  process.stdout.write(`MINT_READY ${running.url}\n`)
  const stop = () => {
    void running.close().finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  log.error('mint failed to start', { error: err instanceof Error ? err.message : String(err) })
  process.exit(1)
})
