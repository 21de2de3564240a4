// Public surface of the mint service: startMint() runs a complete Cashu mint (HTTP + WebSocket)
// on a host/port with its data under dataDir. Used embedded by the engine
// (src/core/mint/mint-module.ts), by the container entry (main.ts) and by tests.
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { MintConfigSchema, type MintConfigInput } from './config'
import { Mint } from './mint'
import { createMintHttp } from './http'
import { loadOrCreateSeed } from './seed'
import { SqliteMintStore } from './store/sqlite-store'
import type { MintStore } from './store/store'
import type { LightningBackend } from './lightning/backend'
import { FakeWalletBackend, type FakeWalletOptions } from './lightning/fake-wallet'
import { LndBackend, type LndBackendOptions } from './lightning/lnd'
import { createLogger, redact, type Logger } from './log'
import { InternalSettlementHook } from './internal-settlement'

export type BackendSpec =
  | ({ kind: 'fake' } & Partial<Omit<FakeWalletOptions, 'statePath' | 'network'>>)
  | ({ kind: 'lnd' } & LndBackendOptions)

export interface StartMintOptions {
  port?: number
  host?: string
  dataDir: string
  /** A ready backend, or how to build one (fake wallet by default). */
  backend?: LightningBackend | BackendSpec
  config?: MintConfigInput
  /** Operator passphrase protecting the seed (scrypt); a 0600 key file otherwise. */
  seedPassphrase?: string
  store?: MintStore
  log?: Logger
  /**
   * Internal settlement with the box (README "Internal settlement"): the 32-byte key the box and
   * its mint share, hex (the embedded child gets it over the IPC channel, the container from a
   * file). With it the box may settle the mint's own quotes (POST /internal/v1/…); without it
   * that route answers 404.
   */
  internalSettlementKey?: string
  /** The box's settlement hook base URL; with the key, invoices of the mint's own node are
   *  settled through it. Unset: such invoices are refused. */
  internalSettlementUrl?: string
  /** How long one call to the hook may take (ms, default 10 s). */
  internalSettlementTimeoutMs?: number
}

function settlementKey(hex: string | undefined): Uint8Array | null {
  if (hex === undefined || hex === '') return null
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new Error('The internal settlement key must be 32 bytes written as 64 hex digits.')
  redact(hex)
  redact(hex.toLowerCase())
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export interface RunningMint {
  url: string
  port: number
  mint: Mint
  backend: LightningBackend
  close(): Promise<void>
}

function isBackend(b: unknown): b is LightningBackend {
  return (
    typeof b === 'object' && b !== null && typeof (b as LightningBackend).makePayment === 'function'
  )
}

export function createBackend(
  spec: BackendSpec,
  dataDir: string,
  network: FakeWalletOptions['network'],
): LightningBackend {
  if (spec.kind === 'lnd') {
    const { kind: _kind, ...opts } = spec
    return new LndBackend(opts)
  }
  if (network === 'mainnet')
    throw new Error(
      'The fake Lightning wallet is for regtest and testing only; on mainnet the mint needs LND.',
    )
  const { kind: _kind, ...opts } = spec
  return new FakeWalletBackend({ network, statePath: join(dataDir, 'fake-wallet.sqlite'), ...opts })
}

export async function startMint(opts: StartMintOptions): Promise<RunningMint> {
  const log = opts.log ?? createLogger('mint')
  const config = MintConfigSchema.parse(opts.config ?? {})
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const dbPath = join(opts.dataDir, 'mint.sqlite')
  const seed = loadOrCreateSeed(
    join(opts.dataDir, 'secrets'),
    opts.seedPassphrase,
    opts.store === undefined && !existsSync(dbPath),
  )
  const backend = isBackend(opts.backend)
    ? opts.backend
    : createBackend(opts.backend ?? { kind: 'fake' }, opts.dataDir, config.network)
  const key = settlementKey(opts.internalSettlementKey)
  if (opts.internalSettlementUrl && !key)
    throw new Error('The internal settlement URL is set but its key is not.')
  const hook =
    key && opts.internalSettlementUrl
      ? new InternalSettlementHook({
          url: opts.internalSettlementUrl,
          key,
          ...(opts.internalSettlementTimeoutMs
            ? { timeoutMs: opts.internalSettlementTimeoutMs }
            : {}),
        })
      : null
  const store = opts.store ?? new SqliteMintStore(dbPath)
  const mint = new Mint(config, store, backend, seed, log, hook)
  await mint.start()
  const { server, ws } = createMintHttp(mint, log, key)
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 3338, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  log.info('mint listening', { url, backend: backend.name })
  let closed = false
  return {
    url,
    port,
    mint,
    backend,
    async close() {
      if (closed) return
      closed = true
      ws.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      await mint.stop()
      await backend.close()
      await store.close()
    },
  }
}

export { Mint } from './mint'
export type { MintConfig, MintConfigInput } from './config'
export type { LightningBackend } from './lightning/backend'
export { FakeWalletBackend } from './lightning/fake-wallet'
export { LndBackend } from './lightning/lnd'
export { MintConfigSchema } from './config'
export type { MintQuote, MeltQuote } from './store/store'
export type { LndBackendOptions } from './lightning/lnd'
export { encodeBolt11 } from './nut23-bolt11'
export { mintControl, followQuotes } from './control'
export type { MintControl, MintInfo, MintLimitsData, MintQuoteEvent } from './control'

/** The mint's child-process entry (child.ts), for the engine to start it as its own process. */
export const mintChildEntry = fileURLToPath(new URL('./child.ts', import.meta.url))
