// SIMULATOR support — test-only. What the LND simulators share: LND's version and feature bits as
// a v0.19 node reports them, where the real .proto files are, and LND-style secret file writes.
import { closeSync, existsSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SimulatedNetwork } from './chain-simulator'

export const FEATURES: Record<number, { name: string; is_required: boolean; is_known: boolean }> = {
  0: { name: 'data-loss-protect', is_required: true, is_known: true },
  5: { name: 'upfront-shutdown-script', is_required: false, is_known: true },
  7: { name: 'gossip-queries', is_required: false, is_known: true },
  8: { name: 'tlv-onion', is_required: true, is_known: true },
  12: { name: 'static-remote-key', is_required: true, is_known: true },
  14: { name: 'payment-addr', is_required: true, is_known: true },
  17: { name: 'multi-path-payments', is_required: false, is_known: true },
  23: { name: 'anchors-zero-fee-htlc-tx', is_required: false, is_known: true },
}
export const INVOICE_FEATURE_BITS = [8, 14, 17]
export const LND_VERSION = {
  version: '0.19.2-beta commit=v0.19.2-beta',
  commit: 'v0.19.2-beta',
  commit_hash: 'a839456493037a6af51cbf16db8be6182d614171',
  app_major: 0,
  app_minor: 19,
  app_patch: 2,
  app_pre_release: 'beta',
  build_tags: [
    'autopilotrpc',
    'chainrpc',
    'invoicesrpc',
    'peersrpc',
    'routerrpc',
    'signrpc',
    'verrpc',
    'walletrpc',
    'watchtowerrpc',
    'wtclientrpc',
  ],
  go_version: 'go1.23.9',
}

export function protosDir(): string {
  if (process.env.LND_SIM_PROTOS_DIR) return process.env.LND_SIM_PROTOS_DIR
  const here = dirname(fileURLToPath(import.meta.url))
  // Bundled: the .proto files are copied next to the bundle.
  if (existsSync(join(here, 'protos', 'lightning.proto'))) return join(here, 'protos')
  const req = createRequire(import.meta.url)
  return join(dirname(req.resolve('lightning/package.json')), 'grpc', 'protos')
}

/** Atomic write (temp, rename) with a mode, like LND's macaroon files. */
export function writeSecretFile(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w', mode)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}

export interface LndConf {
  lnddir?: string
  configfile?: string
  rpclisten?: string
  tlscertpath?: string
  tlskeypath?: string
  tlsextradomain: string[]
  tlsextraip: string[]
  network?: SimulatedNetwork
  rpchost?: string
  rpcuser?: string
  rpcpass?: string
  walletUnlockPasswordFile?: string
  walletUnlockAllowCreate?: boolean
  alias?: string
  restlisten?: string
}

/**
 * Reads lnd.conf (INI: `[Application Options]`, `[Bitcoin]`, `[Bitcoind]`; keys may repeat) and
 * command-line flags (`--lnddir=…`, `--configfile=…`, `--bitcoin.regtest`, …; flags win) for the
 * options the simulator honours.
 */
export function parseLndConf(confText: string, argv: readonly string[] = []): LndConf {
  const entries: [string, string][] = []
  for (const raw of confText.split(/\r?\n/)) {
    const line = raw.replace(/^\s*[;#].*$/, '').trim()
    if (!line || line.startsWith('[')) continue
    const eq = line.indexOf('=')
    entries.push(eq < 0 ? [line, 'true'] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()])
  }
  for (const a of argv) {
    if (!a.startsWith('--')) continue
    const body = a.slice(2)
    const eq = body.indexOf('=')
    entries.push(eq < 0 ? [body, 'true'] : [body.slice(0, eq), body.slice(eq + 1)])
  }
  const truthy = (v: string) => v === 'true' || v === '1'
  const out: LndConf = { tlsextradomain: [], tlsextraip: [] }
  for (const [k, v] of entries) {
    switch (k) {
      case 'lnddir':
      case 'configfile':
      case 'rpclisten':
      case 'tlscertpath':
      case 'tlskeypath':
      case 'alias':
      case 'restlisten':
        out[k] = v
        break
      case 'tlsextradomain':
      case 'tlsextraip':
        out[k].push(v)
        break
      case 'bitcoin.mainnet':
      case 'bitcoin.testnet4':
      case 'bitcoin.signet':
      case 'bitcoin.regtest':
        if (truthy(v)) out.network = k.slice('bitcoin.'.length) as SimulatedNetwork
        break
      case 'bitcoind.rpchost':
        out.rpchost = v
        break
      case 'bitcoind.rpcuser':
        out.rpcuser = v
        break
      case 'bitcoind.rpcpass':
        out.rpcpass = v
        break
      case 'wallet-unlock-password-file':
        out.walletUnlockPasswordFile = v
        break
      case 'wallet-unlock-allow-create':
        out.walletUnlockAllowCreate = truthy(v)
        break
    }
  }
  return out
}
