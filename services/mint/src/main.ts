// Container / child-process entry: configuration from the environment, then startMint().
// The stack's container contract (src/core/stack/mint.ts):
//   FLASHBOX_MINT_LISTEN (host:port), FLASHBOX_MINT_DATA_DIR, FLASHBOX_MINT_NETWORK,
//   FLASHBOX_MINT_LIGHTNING=lnd|fake, FLASHBOX_MINT_LND_GRPC (host:port),
//   FLASHBOX_MINT_LND_MACAROON (file), FLASHBOX_MINT_LND_CERT (PEM file).
// Also (tests, development): MINT_PORT, MINT_HOST, MINT_DATA_DIR, MINT_CONFIG_JSON (MintConfig),
//   MINT_BACKEND=fake|lnd, MINT_FAKE_INCOMING_DELAY_MS, MINT_FAKE_OUTGOING_DELAY_MS,
//   MINT_FAKE_FEE_MSAT, MINT_LND_SOCKET, MINT_LND_CERT_PATH, MINT_LND_MACAROON_PATH,
//   MINT_SEED_PASSPHRASE (scrypt-protected seed; removed from the environment after start),
//   MINT_TRUSTED_PROXIES (comma-separated IPs whose X-Forwarded-For names the client, or
//   `gateway`: the container's default gateway, where the box's front door comes from).
//   FLASHBOX_MINT_SEED_KEY_FILE: the container's way to get that passphrase. Flash Box writes it
//   into a tmpfs right after the container starts (never an environment variable, which
//   `docker inspect` shows); the mint waits for the file, reads it and removes it. An empty file
//   means the box has no owner password yet (the seed then keeps its own key file).
//   FLASHBOX_MINT_INTERNAL_KEY_FILE: the 32-byte key (hex) shared with the box for internal
//   settlement, delivered and removed the same way (empty: none). MINT_INTERNAL_SETTLEMENT_URL:
//   the box's settlement hook (README "Internal settlement"); MINT_INTERNAL_SETTLEMENT_TIMEOUT_MS.
// Prints `MINT_READY <url>` on stdout once listening.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { startMint, type BackendSpec } from './index'
import { createLogger, redact } from './log'
import { resolveTrustedProxies } from '../../shared/trusted-proxies'

const env = process.env
const log = createLogger('mint')
const num = (v: string | undefined, d: number) => (v === undefined || v === '' ? d : Number(v))

function listen(): { host: string; port: number } {
  const l = env.FLASHBOX_MINT_LISTEN
  if (l) {
    const i = l.lastIndexOf(':')
    return { host: l.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(l.slice(i + 1)) }
  }
  return { host: env.MINT_HOST ?? '127.0.0.1', port: num(env.MINT_PORT, 3338) }
}

/** Waits for a key file from Flash Box (bounded), reads it and removes it. */
async function keyFromFile(path: string, what: string): Promise<string | undefined> {
  const waitMs = num(env.FLASHBOX_MINT_SEED_KEY_WAIT_MS, 120_000)
  const end = Date.now() + waitMs
  let said = false
  while (!existsSync(path)) {
    if (Date.now() > end)
      throw new Error(`the ${what} did not arrive within ${Math.round(waitMs / 1000)} s`)
    if (!said) log.info(`waiting for the ${what} from Flash Box`)
    said = true
    await new Promise((r) => setTimeout(r, 100))
  }
  const key = readFileSync(path, 'utf8').trim()
  rmSync(path, { force: true })
  if (key) redact(key)
  return key || undefined
}

async function main() {
  const lightning = env.FLASHBOX_MINT_LIGHTNING ?? env.MINT_BACKEND ?? 'fake'
  const backend: BackendSpec =
    lightning === 'lnd'
      ? {
          kind: 'lnd',
          socket: env.FLASHBOX_MINT_LND_GRPC ?? env.MINT_LND_SOCKET ?? 'lnd:10009',
          certPath: env.FLASHBOX_MINT_LND_CERT ?? env.MINT_LND_CERT_PATH,
          macaroonPath:
            env.FLASHBOX_MINT_LND_MACAROON ?? env.MINT_LND_MACAROON_PATH ?? '/lnd/admin.macaroon',
        }
      : {
          kind: 'fake',
          incomingPayDelayMs: num(env.MINT_FAKE_INCOMING_DELAY_MS, 0),
          outgoingDelayMs: num(env.MINT_FAKE_OUTGOING_DELAY_MS, 0),
          feeMsat: num(env.MINT_FAKE_FEE_MSAT, 1000),
        }
  const config = env.MINT_CONFIG_JSON ? JSON.parse(env.MINT_CONFIG_JSON) : {}
  if (env.FLASHBOX_MINT_NETWORK) config.network = env.FLASHBOX_MINT_NETWORK
  const trusted = resolveTrustedProxies(env.MINT_TRUSTED_PROXIES)
  if (trusted.length) config.trustedProxies = [...(config.trustedProxies ?? []), ...trusted]
  const { host, port } = listen()
  const seedPassphrase = env.FLASHBOX_MINT_SEED_KEY_FILE
    ? await keyFromFile(env.FLASHBOX_MINT_SEED_KEY_FILE, 'seed key')
    : env.MINT_SEED_PASSPHRASE || undefined
  const internalKey = env.FLASHBOX_MINT_INTERNAL_KEY_FILE
    ? await keyFromFile(env.FLASHBOX_MINT_INTERNAL_KEY_FILE, 'internal settlement key')
    : undefined
  // An empty key file means the box has no owner password yet (so no key K): the hook stays off
  // rather than the mint refusing to start.
  const hookUrl =
    env.MINT_INTERNAL_SETTLEMENT_URL && (internalKey || !env.FLASHBOX_MINT_INTERNAL_KEY_FILE)
      ? env.MINT_INTERNAL_SETTLEMENT_URL
      : undefined
  if (env.MINT_INTERNAL_SETTLEMENT_URL && !hookUrl)
    log.info('no internal settlement key from Flash Box yet: internal settlement is off')
  const running = await startMint({
    port,
    host,
    dataDir: env.FLASHBOX_MINT_DATA_DIR ?? env.MINT_DATA_DIR ?? '/data',
    backend,
    config,
    seedPassphrase,
    ...(internalKey ? { internalSettlementKey: internalKey } : {}),
    ...(hookUrl ? { internalSettlementUrl: hookUrl } : {}),
    ...(env.MINT_INTERNAL_SETTLEMENT_TIMEOUT_MS
      ? { internalSettlementTimeoutMs: num(env.MINT_INTERNAL_SETTLEMENT_TIMEOUT_MS, 10_000) }
      : {}),
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
