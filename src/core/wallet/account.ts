// Accounts from output descriptors: BIP84 `wpkh` (the default) and BIP86 `tr`, from the box's seed
// or watch-only from an xpub/zpub or a descriptor. An account is a pair of ranged descriptors
// (receive …/0/*, change …/1/*). @bitcoinerlab/descriptors parses and checks every descriptor the
// owner gives and produces the checksums; addresses are then derived with bip32 + bitcoinjs-lib
// straight from the account key (the chain node is derived once), which is what makes deriving a
// few thousand addresses for a sync cheap. The first addresses of each chain are compared with what
// the descriptor library derives, so the two can never silently disagree.
import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto'
import { DescriptorsFactory, checksum } from '@bitcoinerlab/descriptors'
import { BIP32Factory, type BIP32Interface } from 'bip32'
import * as bitcoin from 'bitcoinjs-lib'
import { createBase58check } from '@scure/base'
import { sha256 } from '@noble/hashes/sha2.js'
import * as ecc from 'tiny-secp256k1'
import { FlashError } from '../errors'
import { childPoint } from './child-point'
import type {
  AddressDerivation,
  WalletAccount,
  WalletChain,
  WalletNetwork,
  WalletScriptKind,
} from './types'

bitcoin.initEccLib(ecc)
export const bip32 = BIP32Factory(ecc)
const descriptors = DescriptorsFactory(ecc)
const bs58check = createBase58check(sha256)

export const NETWORKS: Record<WalletNetwork, bitcoin.Network> = {
  mainnet: bitcoin.networks.bitcoin,
  testnet: bitcoin.networks.testnet,
  signet: bitcoin.networks.testnet,
  regtest: bitcoin.networks.regtest,
}

/** BIP44 coin type: 0 on mainnet, 1 on every test network. */
export const coinType = (network: WalletNetwork): number => (network === 'mainnet' ? 0 : 1)
const PURPOSE: Record<WalletScriptKind, number> = { wpkh: 84, tr: 86 }

export const DEFAULT_GAP_LIMIT = 20

/** Electrum script hash: sha256(scriptPubKey), byte-reversed, hex. */
export function electrumScriptHash(script: Uint8Array): string {
  return hash('sha256', script, 'buffer').reverse().toString('hex')
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** A derived address, before the wallet knows whether it is used. */
export interface DerivedAddress {
  readonly address: string
  readonly scriptPubKey: string
  readonly scriptHash: string
  readonly derivation: AddressDerivation
}

/** The account path m/purpose'/coin'/account' of a seed account. */
export function accountPath(kind: WalletScriptKind, network: WalletNetwork, account: number) {
  return `m/${PURPOSE[kind]}'/${coinType(network)}'/${account}'`
}

function rangedDescriptor(kind: WalletScriptKind, origin: string, xpub: string, chain: 0 | 1) {
  const body = `${kind}([${origin}]${xpub}/${chain}/*)`
  return `${body}#${checksum(body)}`
}

/** The BIP32 master key of a BIP39 seed, for the account's network (xprv or tprv). */
export function masterKey(seed: Uint8Array, network: WalletNetwork): BIP32Interface {
  return bip32.fromSeed(seed, NETWORKS[network])
}

/** A seed account (the key is derived from the master key; only its xpub is kept). */
export function seedAccount(opts: {
  /** The BIP39 seed (64 bytes). */
  readonly seed: Uint8Array
  readonly network: WalletNetwork
  readonly kind: WalletScriptKind
  readonly account: number
  readonly id: string
  readonly name: string
  readonly gapLimit?: number
  readonly now?: Date
}): WalletAccount {
  const path = accountPath(opts.kind, opts.network, opts.account)
  const master = masterKey(opts.seed, opts.network)
  const accountXpub = master.derivePath(path).neutered().toBase58()
  const fp = hex(master.fingerprint)
  const origin = `${fp}${path.slice(1)}`
  return checkAccount({
    id: opts.id,
    name: opts.name,
    network: opts.network,
    kind: opts.kind,
    source: 'seed',
    account: opts.account,
    receiveDescriptor: rangedDescriptor(opts.kind, origin, accountXpub, 0),
    changeDescriptor: rangedDescriptor(opts.kind, origin, accountXpub, 1),
    xpub: accountXpub,
    origin: { masterFingerprint: fp, path },
    gapLimit: opts.gapLimit ?? DEFAULT_GAP_LIMIT,
    createdAt: (opts.now ?? new Date()).toISOString(),
  })
}

// SLIP-132 version bytes: zpub/vpub (BIP84) are xpub/tpub with other version bytes.
const SLIP132: Record<string, { readonly version: number; readonly mainnet: boolean }> = {
  xpub: { version: 0x0488b21e, mainnet: true },
  zpub: { version: 0x04b24746, mainnet: true },
  tpub: { version: 0x043587cf, mainnet: false },
  vpub: { version: 0x045f1cf6, mainnet: false },
}

function badSource(detail: string): FlashError {
  return new FlashError(
    'wallet.bad_watch_only',
    `That is not a key or descriptor Flash Box can watch: ${detail}`,
    "Paste an xpub/zpub (or tpub/vpub on a test network), or a descriptor such as wpkh([fingerprint/84'/0'/0']xpub…/0/*) or tr(…).",
  )
}

/** An xpub/zpub/tpub/vpub as the standard xpub (mainnet) or tpub (test networks) form. */
function normaliseExtendedKey(key: string, network: WalletNetwork): string {
  const prefix = key.slice(0, 4)
  const info = SLIP132[prefix]
  if (!info) {
    if (/^[xyztuv]prv/.test(prefix))
      throw badSource(
        'that is a private key. Never paste a private key; use its public key (xpub).',
      )
    throw badSource(
      `keys starting with "${prefix}" are not supported (only xpub, zpub, tpub, vpub).`,
    )
  }
  if (info.mainnet !== (network === 'mainnet')) {
    throw badSource(
      `a ${prefix} is a ${info.mainnet ? 'mainnet' : 'test network'} key and this box runs on ${network}.`,
    )
  }
  let raw: Uint8Array
  try {
    raw = bs58check.decode(key)
  } catch {
    throw badSource('its checksum is wrong (a typo?).')
  }
  if (raw.length !== 78) throw badSource('it has the wrong length.')
  const out = Buffer.from(raw)
  out.writeUInt32BE(info.mainnet ? SLIP132.xpub!.version : SLIP132.tpub!.version, 0)
  return bs58check.encode(out)
}

const DESCRIPTOR =
  /^(wpkh|tr)\((?:\[([0-9a-fA-F]{8})((?:\/[0-9]+['hH]?)*)\])?([a-zA-Z0-9]{100,120})((?:\/[0-9]+)*?)(\/<0;1>\/\*|\/[01]\/\*|\/\*)?\)$/

/**
 * A watch-only account from what the owner pasted: an extended public key (xpub/zpub → wpkh,
 * like Sparrow; for tr paste a descriptor) or a descriptor `wpkh(…)`/`tr(…)` with or without key
 * origin, checksum, `/0/*` or `/<0;1>/*`.
 */
export function watchOnlyAccount(opts: {
  readonly source: string
  readonly network: WalletNetwork
  readonly id: string
  readonly name: string
  readonly gapLimit?: number
  readonly now?: Date
}): WalletAccount {
  const source = opts.source.trim()
  let kind: WalletScriptKind = 'wpkh'
  let fingerprint: string | undefined
  let originPath = ''
  let key = source
  if (/^(wpkh|tr)\(/.test(source)) {
    const [body, sum] = source.split('#')
    if (sum !== undefined) {
      let expected: string
      try {
        expected = checksum(body!)
      } catch {
        throw badSource('it is not a valid descriptor.')
      }
      if (sum !== expected) throw badSource('its checksum does not match (a typo?).')
    }
    const m = DESCRIPTOR.exec(body!)
    if (!m) {
      throw badSource(
        'only single-key wpkh(…) and tr(…) descriptors of an extended key are supported, with /0/* or /<0;1>/* at the end.',
      )
    }
    if (m[5]) throw badSource('the key must be the account key, with nothing before /0/*.')
    if (m[6] === '/*') throw badSource('the descriptor needs /0/* (receive) or /<0;1>/*.')
    kind = m[1] as WalletScriptKind
    fingerprint = m[2]?.toLowerCase()
    originPath = (m[3] ?? '').replace(/[hH]/g, "'")
    key = m[4]!
  }
  const xpub = normaliseExtendedKey(key, opts.network)
  const node = bip32.fromBase58(xpub, NETWORKS[opts.network])
  const fp = fingerprint ?? hex(node.fingerprint)
  const path = fingerprint ? `m${originPath}` : 'm'
  const accountNo = /\/([0-9]+)'$/.exec(originPath)
  const origin = `${fp}${path.slice(1)}`
  return checkAccount({
    id: opts.id,
    name: opts.name,
    network: opts.network,
    kind,
    source: 'watch-only',
    ...(accountNo ? { account: Number(accountNo[1]) } : {}),
    receiveDescriptor: rangedDescriptor(kind, origin, xpub, 0),
    changeDescriptor: rangedDescriptor(kind, origin, xpub, 1),
    xpub,
    origin: { masterFingerprint: fp, path },
    gapLimit: opts.gapLimit ?? DEFAULT_GAP_LIMIT,
    createdAt: (opts.now ?? new Date()).toISOString(),
  })
}

/** Derives the addresses of one account; the two chain nodes are derived once. */
export class AccountKeys {
  private readonly chains: readonly [BIP32Interface, BIP32Interface]
  /** Each chain node's public key uncompressed (65 bytes): adding to it needs no square root. */
  private readonly uncompressed: readonly [Uint8Array, Uint8Array]
  /** Each chain code as a KeyObject: HMAC with a ready key costs a third of HMAC with raw bytes. */
  private readonly chainCodes: readonly [KeyObject, KeyObject]
  private readonly net: bitcoin.Network

  constructor(readonly account: WalletAccount) {
    this.net = NETWORKS[account.network]
    const node = bip32.fromBase58(account.xpub, this.net)
    this.chains = [node.derive(0), node.derive(1)]
    this.uncompressed = [
      ecc.pointCompress(this.chains[0].publicKey, false),
      ecc.pointCompress(this.chains[1].publicKey, false),
    ]
    this.chainCodes = [
      createSecretKey(this.chains[0].chainCode),
      createSecretKey(this.chains[1].chainCode),
    ]
  }

  /**
   * BIP32 CKDpub of a chain node: HMAC-SHA512(chain code, K ‖ ser32(i)), child = K + IL·G. Done
   * here with Node's native HMAC and childPoint() (libsecp256k1, see child-point.ts) instead of
   * bip32's derive(), which also builds a node object, re-validates the point and hashes the
   * parent's fingerprint for every child — a sync derives thousands of addresses. IL·G is a
   * fixed-base multiplication (libsecp256k1's precomputed generator tables) added to the parent
   * kept uncompressed; that is about twice as fast as a tweak-add, which decompresses the parent
   * each time. In the (2^-127) cases BIP32 calls invalid, bip32's own derive() decides, so the
   * result is always bip32's.
   */
  private childPubkey(chain: WalletChain, index: number): Uint8Array {
    const parent = this.chains[chain]
    const data = Buffer.allocUnsafe(37)
    data.set(parent.publicKey, 0)
    data.writeUInt32BE(index, 33)
    const I = createHmac('sha512', this.chainCodes[chain]).update(data).digest()
    return childPoint(this.uncompressed[chain], I.subarray(0, 32)) ?? parent.derive(index).publicKey
  }

  derive(chain: WalletChain, index: number): DerivedAddress {
    if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) {
      throw new RangeError(`address index out of range: ${index}`)
    }
    const pubkey = this.childPubkey(chain, index)
    const { kind, origin, xpub } = this.account
    let script: Uint8Array
    let address: string
    if (kind === 'wpkh') {
      // BIP141 P2WPKH built directly (payments.p2wpkh validates every field and costs more than
      // the key derivation itself when a sync derives thousands of addresses).
      // One-shot hashes (crypto.hash): no Hash object per call.
      const keyHash = hash('ripemd160', hash('sha256', pubkey, 'buffer'), 'buffer')
      script = Buffer.allocUnsafe(22)
      script[0] = 0x00
      script[1] = 0x14
      script.set(keyHash, 2)
      address = bitcoin.address.toBech32(keyHash, 0, this.net.bech32)
    } else {
      const p = bitcoin.payments.p2tr({ internalPubkey: pubkey.subarray(1, 33), network: this.net })
      script = p.output!
      address = p.address!
    }
    const path = `${origin.path}/${chain}/${index}`
    return {
      address,
      scriptPubKey: hex(script),
      scriptHash: electrumScriptHash(script),
      derivation: {
        kind,
        chain,
        index,
        masterFingerprint: origin.masterFingerprint,
        path,
        pubkey: hex(pubkey),
        ...(kind === 'tr' ? { tapInternalKey: hex(pubkey.subarray(1, 33)) } : {}),
        descriptor: `${kind}([${origin.masterFingerprint}${origin.path.slice(1)}]${xpub}/${chain}/${index})`,
      },
    }
  }
}

/** Cross-checks the account's own derivation with @bitcoinerlab/descriptors (index 0 and 1 of both chains). */
function checkAccount(account: WalletAccount): WalletAccount {
  const keys = new AccountKeys(account)
  const network = NETWORKS[account.network]
  for (const [chain, descriptor] of [
    [0, account.receiveDescriptor],
    [1, account.changeDescriptor],
  ] as const) {
    for (const index of [0, 1]) {
      let expected: string
      try {
        expected = new descriptors.Output({
          descriptor,
          index,
          network,
          checksumRequired: true,
        }).getAddress()
      } catch (err) {
        throw badSource(`the descriptor library refused it (${(err as Error).message}).`)
      }
      if (keys.derive(chain, index).address !== expected) {
        throw new FlashError(
          'wallet.derivation_mismatch',
          'Flash Box derived a different address than the descriptor says; the account was not added.',
          'This is a bug in Flash Box; please report it.',
        )
      }
    }
  }
  return account
}
