// SIMULATOR — test-only. Greenfield "Store payment methods" (swagger.template.stores-payment-
// methods*.json, BTCPay 2.x ids): PUT /api/v1/stores/{storeId}/payment-methods/{BTC-LN|BTC-CHAIN}
// with `{enabled, config}`.
//   BTC-LN    config `{connectionString}` (or the string itself): an lnd-rest connection string,
//             parsed and checked as BTCPay's connector does (lnd-rest-client.ts); invoices are
//             made on that LND and settle when LND reports them paid.
//   BTC-CHAIN config `{derivationScheme, label, accountKeyPath}` (or the scheme itself): an
//             NBXplorer derivation scheme over an extended public key — `xpub…` (P2WPKH),
//             `xpub…-[p2sh]`, `xpub…-[legacy]`, `xpub…-[taproot]`; regtest takes tpub/vpub.
//             Addresses are derived from it (0/i); no key is ever given to the store.
import * as bitcoin from 'bitcoinjs-lib'
import { BIP32Factory, type BIP32Interface } from 'bip32'
import * as ecc from 'tiny-secp256k1'
import { sha256 } from '@noble/hashes/sha2.js'
import { createBase58check } from '@scure/base'
import {
  invalid,
  objectBody,
  ok,
  problem,
  type Call,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import {
  ConnectionStringError,
  LndRestClient,
  parseLndRest,
  type LndInvoice,
} from './lnd-rest-client'
import { Policies, allows } from './permissions'
import { storeOf } from './stores'

bitcoin.initEccLib(ecc)
const bs58check = createBase58check(sha256)
const bip32 = BIP32Factory(ecc)

export const LN = 'BTC-LN'
export const CHAIN = 'BTC-CHAIN'

export interface LightningMethod {
  readonly kind: 'ln'
  enabled: boolean
  readonly connectionString: string
  readonly client: LndRestClient
  readonly stop: () => void
}

export interface ChainMethod {
  readonly kind: 'chain'
  enabled: boolean
  readonly derivationScheme: string
  readonly label: string | null
  readonly accountKeyPath: string | null
  readonly node: BIP32Interface
  readonly script: 'p2wpkh' | 'p2sh-p2wpkh' | 'p2pkh' | 'p2tr'
  nextIndex: number
}

export type StoreMethod = LightningMethod | ChainMethod

export interface SimOptions {
  readonly network: bitcoin.Network
}

export const methodsOf = (sim: Greenfield) =>
  sim.area('payment-methods', () => new Map<string, Map<string, StoreMethod>>())

export function storeMethods(sim: Greenfield, storeId: string): Map<string, StoreMethod> {
  const all = methodsOf(sim)
  let m = all.get(storeId)
  if (!m) all.set(storeId, (m = new Map()))
  return m
}

/** Who wants to hear LND's invoice updates (invoices.ts registers itself). */
export const lightningListeners = (sim: Greenfield) =>
  sim.area('ln-listeners', () => [] as ((storeId: string, inv: LndInvoice) => void)[])

// Version bytes of extended public keys (SLIP-132): xpub/tpub for any script, the rest imply one.
const VERSIONS: Record<string, { net: 'main' | 'test'; script?: ChainMethod['script'] }> = {
  '0488b21e': { net: 'main' }, // xpub
  '049d7cb2': { net: 'main', script: 'p2sh-p2wpkh' }, // ypub
  '04b24746': { net: 'main', script: 'p2wpkh' }, // zpub
  '043587cf': { net: 'test' }, // tpub
  '044a5262': { net: 'test', script: 'p2sh-p2wpkh' }, // upub
  '045f1cf6': { net: 'test', script: 'p2wpkh' }, // vpub
}

export function parseDerivationScheme(
  scheme: string,
  network: bitcoin.Network,
): { node: BIP32Interface; script: ChainMethod['script'] } {
  const m = /^([A-Za-z0-9]+)(-\[(p2sh|legacy|taproot)\])?$/.exec(scheme.trim())
  if (!m) throw invalid('config.derivationScheme', 'Invalid Derivation Scheme')
  let raw: Uint8Array
  try {
    raw = bs58check.decode(m[1]!)
  } catch {
    throw invalid('config.derivationScheme', 'Invalid Derivation Scheme')
  }
  if (raw.length !== 78) throw invalid('config.derivationScheme', 'Invalid Derivation Scheme')
  const version = VERSIONS[Buffer.from(raw.subarray(0, 4)).toString('hex')]
  const wantTest = network.bech32 !== 'bc'
  if (!version || (version.net === 'test') !== wantTest)
    throw invalid('config.derivationScheme', 'The derivation scheme is for another network')
  // Re-encode with the network's xpub version so bip32 parses it.
  const normal = Buffer.from(raw)
  normal.writeUInt32BE(network.bip32.public, 0)
  let node: BIP32Interface
  try {
    node = bip32.fromBase58(bs58check.encode(normal), network)
  } catch {
    throw invalid('config.derivationScheme', 'Invalid Derivation Scheme')
  }
  if (!node.isNeutered()) throw invalid('config.derivationScheme', 'Private keys are not accepted')
  const suffix = m[3]
  const script: ChainMethod['script'] =
    suffix === 'p2sh'
      ? 'p2sh-p2wpkh'
      : suffix === 'legacy'
        ? 'p2pkh'
        : suffix === 'taproot'
          ? 'p2tr'
          : (version.script ?? 'p2wpkh')
  return { node, script }
}

export function chainAddress(m: ChainMethod, network: bitcoin.Network, index: number): string {
  const key = m.node.derive(0).derive(index)
  const pubkey = Buffer.from(key.publicKey)
  switch (m.script) {
    case 'p2wpkh':
      return bitcoin.payments.p2wpkh({ pubkey, network }).address!
    case 'p2sh-p2wpkh':
      return bitcoin.payments.p2sh({
        redeem: bitcoin.payments.p2wpkh({ pubkey, network }),
        network,
      }).address!
    case 'p2pkh':
      return bitcoin.payments.p2pkh({ pubkey, network }).address!
    case 'p2tr':
      return bitcoin.payments.p2tr({ internalPubkey: pubkey.subarray(1, 33), network }).address!
  }
}

function methodData(id: string, m: StoreMethod, withConfig: boolean) {
  return {
    enabled: m.enabled,
    paymentMethodId: id,
    config: !withConfig
      ? null
      : m.kind === 'ln'
        ? { connectionString: m.connectionString }
        : {
            derivationScheme: m.derivationScheme,
            label: m.label,
            accountKeyPath: m.accountKeyPath,
          },
  }
}

function put(c: Call, opts: SimOptions) {
  const storeId = c.params.storeId!
  storeOf(c.sim, storeId)
  const id = c.params.paymentMethodId!.toUpperCase()
  const b = objectBody(c)
  const enabled = b.enabled === undefined ? true : b.enabled === true
  const methods = storeMethods(c.sim, storeId)
  const old = methods.get(id)
  if (id === LN) {
    const cfg = b.config
    const cs =
      typeof cfg === 'string'
        ? cfg
        : typeof cfg === 'object' && cfg
          ? (cfg as Record<string, unknown>).connectionString
          : undefined
    if (cs === undefined && old) {
      old.enabled = enabled
      return ok(methodData(id, old, true))
    }
    if (typeof cs !== 'string') throw invalid('config.connectionString', 'Missing connectionString')
    let conn
    try {
      conn = parseLndRest(cs)
    } catch (e) {
      if (e instanceof ConnectionStringError)
        throw invalid('config.connectionString', `Invalid connection string (${e.message})`)
      throw e
    }
    if (old?.kind === 'ln') old.stop()
    const client = new LndRestClient(conn)
    const listeners = lightningListeners(c.sim)
    const stop = client.subscribeInvoices((inv) => {
      for (const l of listeners) l(storeId, inv)
    }, c.sim.log)
    const m: LightningMethod = { kind: 'ln', enabled, connectionString: cs, client, stop }
    methods.set(id, m)
    return ok(methodData(id, m, true))
  }
  if (id === CHAIN) {
    const cfg = b.config
    const body =
      typeof cfg === 'string' ? { derivationScheme: cfg } : ((cfg ?? {}) as Record<string, unknown>)
    const scheme = body.derivationScheme
    if (scheme === undefined && old) {
      old.enabled = enabled
      return ok(methodData(id, old, true))
    }
    if (typeof scheme !== 'string')
      throw invalid('config.derivationScheme', 'Missing derivationScheme')
    const { node, script } = parseDerivationScheme(scheme, opts.network)
    const m: ChainMethod = {
      kind: 'chain',
      enabled,
      derivationScheme: scheme.trim(),
      label: typeof body.label === 'string' ? body.label : null,
      accountKeyPath: typeof body.accountKeyPath === 'string' ? body.accountKeyPath : null,
      node,
      script,
      nextIndex:
        old?.kind === 'chain' && old.derivationScheme === scheme.trim() ? old.nextIndex : 0,
    }
    methods.set(id, m)
    return ok(methodData(id, m, true))
  }
  throw invalid('paymentMethodId', 'Invalid payment method id')
}

export function routes(_sim: Greenfield, opts: SimOptions): GreenfieldRoute[] {
  const withConfig = (c: Call) =>
    c.query.get('includeConfig') === 'true' &&
    allows(c.who!, Policies.canModifyStoreSettings, c.params.storeId)
  return [
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/payment-methods',
      auth: { kind: 'policy', anyOf: [Policies.canViewStoreSettings] },
      handle: (c) => {
        const onlyEnabled = c.query.get('onlyEnabled') === 'true'
        return ok(
          [...storeMethods(c.sim, c.params.storeId!)]
            .filter(([, m]) => !onlyEnabled || m.enabled)
            .map(([id, m]) => methodData(id, m, withConfig(c))),
        )
      },
    },
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/payment-methods/{paymentMethodId}',
      auth: { kind: 'policy', anyOf: [Policies.canViewStoreSettings] },
      handle: (c) => {
        const id = c.params.paymentMethodId!.toUpperCase()
        const m = storeMethods(c.sim, c.params.storeId!).get(id)
        if (!m)
          throw problem(404, 'paymentmethod-not-found', 'The payment method is not configured')
        return ok(methodData(id, m, withConfig(c)))
      },
    },
    {
      method: 'PUT',
      path: '/api/v1/stores/{storeId}/payment-methods/{paymentMethodId}',
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: (c) => put(c, opts),
    },
    {
      method: 'DELETE',
      path: '/api/v1/stores/{storeId}/payment-methods/{paymentMethodId}',
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: (c) => {
        const methods = storeMethods(c.sim, c.params.storeId!)
        const id = c.params.paymentMethodId!.toUpperCase()
        const m = methods.get(id)
        if (m?.kind === 'ln') m.stop()
        methods.delete(id)
        return ok(undefined)
      },
    },
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/payment-methods/{paymentMethodId}/wallet/address',
      auth: {
        kind: 'policy',
        anyOf: ['btcpay.store.canviewwallet', Policies.canModifyStoreSettings],
      },
      handle: (c) => {
        const m = storeMethods(c.sim, c.params.storeId!).get(CHAIN)
        if (m?.kind !== 'chain')
          throw problem(404, 'paymentmethod-not-found', 'The on-chain wallet is not configured')
        const forceGenerate = c.query.get('forceGenerate') === 'true'
        const index = forceGenerate ? m.nextIndex++ : m.nextIndex
        return ok({
          address: chainAddress(m, opts.network, index),
          keyPath: `0/${index}`,
          paymentLink: `bitcoin:${chainAddress(m, opts.network, index)}`,
        })
      },
    },
  ]
}

/** Stops every LND subscription (simulator shutdown). */
export function stopLightning(sim: Greenfield): void {
  for (const methods of methodsOf(sim).values())
    for (const m of methods.values()) if (m.kind === 'ln') m.stop()
}
