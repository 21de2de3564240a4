// SIMULATOR — a Ledger running its Bitcoin app (app-bitcoin-new, protocol of v2.1+), for tests
// on a machine without USB. Written from the app's documents (doc/bitcoin.md, doc/merkle.md,
// doc/wallet.md), not from its code:
// - APDUs with CLA E1: GET_EXTENDED_PUBKEY, REGISTER_WALLET, GET_WALLET_ADDRESS, SIGN_PSBT,
//   GET_MASTER_FINGERPRINT; the dashboard's GET_APP_AND_VERSION (B0 01); CONTINUE (F8 01);
// - the interactive protocol: the device answers SW 0xE000 with a client command (YIELD,
//   GET_PREIMAGE, GET_MERKLE_LEAF_PROOF, GET_MERKLE_LEAF_INDEX, GET_MORE_ELEMENTS) and checks
//   every answer against the hashes and Merkle roots the first APDU committed to;
// - Ledger's HID framing (64-byte packets on channel 0x0101, tag 0x05) under a WebUSB-shaped
//   device object, so the box's real transport code runs on top of it;
// - states: locked (0x5515), another app or the dashboard open (0x6E00), the user rejecting on
//   the device screen (0x6985), a device claimed by another program (claimInterface fails).
// It holds a real BIP32 seed and signs for real (BIP143, low-S DER). Supported wallet policies:
// `wpkh(@0/**)` (default, BIP84 paths) and `wsh(sortedmulti(k,@0/**,…))` (registered, HMAC'd);
// other templates answer 0x6A80. Not modelled: taproot, miniscript, MuSig2, SIGN_MESSAGE,
// the check that a map's keys are sorted before use beyond the keys the app reads.
import { HDKey } from '@scure/bip32'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import {
  address as baddress,
  networks,
  payments,
  script as bscript,
  Transaction,
} from 'bitcoinjs-lib'

const HARDENED = 0x80000000
export const SW = {
  OK: 0x9000,
  DENY: 0x6985,
  WRONG_P1P2: 0x6a86,
  WRONG_DATA_LENGTH: 0x6a87,
  INCORRECT_DATA: 0x6a80,
  NOT_SUPPORTED: 0x6a82,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  BAD_STATE: 0xb007,
  SIGNATURE_FAIL: 0xb008,
  INTERRUPTED: 0xe000,
  LOCKED: 0x5515,
} as const

class ApduError extends Error {
  constructor(readonly sw: number) {
    super(`SW ${sw.toString(16)}`)
  }
}

/** What the device's screen asks the user; the test's `user` answers approve (true) or reject. */
export type Screen =
  | { kind: 'xpub'; path: string; xpub: string }
  | { kind: 'register'; name: string; template: string; keys: string[] }
  | { kind: 'address'; wallet: string; address: string }
  | { kind: 'sign'; wallet: string; outputs: { address: string; amount: bigint }[]; fee: bigint }

export interface LedgerEmulatorOptions {
  seed: Uint8Array
  /** 'Bitcoin Test' (testnet/regtest/signet), 'Bitcoin', 'BOLOS' (the dashboard) or another app. */
  appName?: string
  appVersion?: string
  locked?: boolean
  /** Another program holds the device: opening its interface fails as libusb says "busy". */
  claimedByOther?: boolean
  user?: (screen: Screen) => boolean
  /** A faulty or malicious device: signs a digest other than the input's. */
  signWrongDigest?: boolean
}

// ---- encodings (Bitcoin varints, Merkle trees of doc/merkle.md) -------------------------------

function varint(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n)
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >> 8)
  return Uint8Array.of(0xfe, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24)
}

class Reader {
  constructor(
    private readonly b: Uint8Array,
    public at = 0,
  ) {}
  u8(): number {
    if (this.at >= this.b.length) throw new ApduError(SW.WRONG_DATA_LENGTH)
    return this.b[this.at++]!
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new ApduError(SW.WRONG_DATA_LENGTH)
    const out = this.b.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
  u32le(): number {
    const x = this.bytes(4)
    return (x[0]! | (x[1]! << 8) | (x[2]! << 16) | (x[3]! << 24)) >>> 0
  }
  u32be(): number {
    const x = this.bytes(4)
    return ((x[0]! << 24) | (x[1]! << 16) | (x[2]! << 8) | x[3]!) >>> 0
  }
  varint(): number {
    const f = this.u8()
    if (f < 0xfd) return f
    if (f === 0xfd) return this.u8() | (this.u8() << 8)
    if (f === 0xfe) {
      const x = this.bytes(4)
      return (x[0]! | (x[1]! << 8) | (x[2]! << 16) | (x[3]! << 24)) >>> 0
    }
    throw new ApduError(SW.INCORRECT_DATA)
  }
  done(): boolean {
    return this.at === this.b.length
  }
}

const leafHash = (d: Uint8Array) => sha256(concatBytes(Uint8Array.of(0), d))
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(concatBytes(Uint8Array.of(1), l, r))
const largestPow2Below = (n: number) => {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** The root a leaf hash and its audit path (bottom-up, RFC 6962 order) lead to. */
function rootFromProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: Uint8Array[],
): Uint8Array {
  if (size === 1) {
    if (proof.length !== 0) throw new ApduError(SW.INCORRECT_DATA)
    return leaf
  }
  const sibling = proof[proof.length - 1]
  if (!sibling) throw new ApduError(SW.INCORRECT_DATA)
  const rest = proof.slice(0, -1)
  const k = largestPow2Below(size)
  return index < k
    ? nodeHash(rootFromProof(leaf, index, k, rest), sibling)
    : nodeHash(sibling, rootFromProof(leaf, index - k, size - k, rest))
}

const equal = (a: Uint8Array, b: Uint8Array) => bytesToHex(a) === bytesToHex(b)
const compare = (a: Uint8Array, b: Uint8Array) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

// ---- one interrupted command: the device's side of the client-command protocol ----------------

class ClientChannel {
  constructor(private readonly ask: (request: Uint8Array) => Promise<Uint8Array>) {}

  private async moreElements(count: number, size: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    while (out.length < count) {
      const r = new Reader(await this.ask(Uint8Array.of(0xa0)))
      const n = r.u8()
      const s = r.u8()
      if (n === 0 || s !== size) throw new ApduError(SW.INCORRECT_DATA)
      for (let i = 0; i < n; i++) out.push(r.bytes(s))
    }
    if (out.length !== count) throw new ApduError(SW.INCORRECT_DATA)
    return out
  }

  async yieldData(data: Uint8Array): Promise<void> {
    const answer = await this.ask(concatBytes(Uint8Array.of(0x10), data))
    if (answer.length !== 0) throw new ApduError(SW.INCORRECT_DATA)
  }

  async preimage(hash: Uint8Array): Promise<Uint8Array> {
    const r = new Reader(await this.ask(concatBytes(Uint8Array.of(0x40, 0), hash)))
    const total = r.varint()
    const b = r.u8()
    const first = r.bytes(b)
    const rest = total > b ? (await this.moreElements(total - b, 1)).map((x) => x[0]!) : []
    const full = concatBytes(first, Uint8Array.from(rest))
    if (full.length !== total || !equal(sha256(full), hash)) throw new ApduError(SW.INCORRECT_DATA)
    return full
  }

  /** The hash of leaf `index` of the tree `root` of `size` leaves, its proof checked. */
  async leaf(root: Uint8Array, size: number, index: number): Promise<Uint8Array> {
    const r = new Reader(
      await this.ask(concatBytes(Uint8Array.of(0x41), root, varint(size), varint(index))),
    )
    const hash = r.bytes(32)
    const proofLen = r.u8()
    const p = r.u8()
    const proof: Uint8Array[] = []
    for (let i = 0; i < p; i++) proof.push(r.bytes(32))
    if (proofLen > p) proof.push(...(await this.moreElements(proofLen - p, 32)))
    if (!equal(rootFromProof(hash, index, size, proof), root))
      throw new ApduError(SW.INCORRECT_DATA)
    return hash
  }

  /** Element `index` of a committed list (its leaf preimage is 0x00‖element). */
  async element(root: Uint8Array, size: number, index: number): Promise<Uint8Array> {
    const h = await this.leaf(root, size, index)
    const pre = await this.preimage(h)
    if (pre[0] !== 0) throw new ApduError(SW.INCORRECT_DATA)
    return pre.subarray(1)
  }

  async leafIndex(root: Uint8Array, hash: Uint8Array): Promise<number | undefined> {
    const r = new Reader(await this.ask(concatBytes(Uint8Array.of(0x42), root, hash)))
    const found = r.u8()
    const index = r.varint()
    return found === 1 ? index : undefined
  }
}

/** A Merkleized map (doc/merkle.md): keys are read and checked sorted once, values on demand. */
class MapCommitment {
  private keyList?: Uint8Array[]
  constructor(
    private readonly ch: ClientChannel,
    readonly size: number,
    readonly keysRoot: Uint8Array,
    readonly valuesRoot: Uint8Array,
  ) {}

  static parse(ch: ClientChannel, bytes: Uint8Array): MapCommitment {
    const r = new Reader(bytes)
    const m = new MapCommitment(ch, r.varint(), r.bytes(32).slice(), r.bytes(32).slice())
    if (!r.done()) throw new ApduError(SW.INCORRECT_DATA)
    return m
  }

  async keys(): Promise<Uint8Array[]> {
    if (this.keyList) return this.keyList
    const keys: Uint8Array[] = []
    for (let i = 0; i < this.size; i++) {
      const k = await this.ch.element(this.keysRoot, this.size, i)
      if (i > 0 && compare(keys[i - 1]!, k) >= 0) throw new ApduError(SW.INCORRECT_DATA)
      keys.push(k.slice())
    }
    this.keyList = keys
    return keys
  }

  /** The value under `key`, found as doc/merkle.md says: index, proven key, proven value. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const i = await this.ch.leafIndex(this.keysRoot, leafHash(key))
    if (i === undefined) return undefined
    if (i >= this.size) throw new ApduError(SW.INCORRECT_DATA)
    if (!equal(await this.ch.leaf(this.keysRoot, this.size, i), leafHash(key)))
      throw new ApduError(SW.INCORRECT_DATA)
    return this.ch.element(this.valuesRoot, this.size, i)
  }
}

// ---- wallet policies (doc/wallet.md) --------------------------------------------------------

interface KeyInfo {
  text: string
  fingerprint?: string
  path: number[]
  node: HDKey
}

interface Policy {
  id: Uint8Array
  name: string
  template: string
  keys: KeyInfo[]
  shape: { kind: 'wpkh' } | { kind: 'sortedmulti'; threshold: number }
}

function formatPath(path: number[]): string {
  return ['m', ...path.map((i) => (i >= HARDENED ? `${i - HARDENED}'` : String(i)))].join('/')
}

export class LedgerEmulator {
  readonly root: HDKey
  appName: string
  appVersion: string
  locked: boolean
  claimedByOther: boolean
  user: (screen: Screen) => boolean
  signWrongDigest: boolean
  /** Every screen shown, in order, for tests to read. */
  readonly screens: Screen[] = []
  /** Where the last refused command stopped (a stack), for a failing test to print. */
  lastRefusal?: string
  private readonly policyKey: Uint8Array
  private session?: {
    resume: (data: Uint8Array) => void
    deliver: (response: Uint8Array) => void
  }

  constructor(opts: LedgerEmulatorOptions) {
    this.root = HDKey.fromMasterSeed(opts.seed)
    this.appName = opts.appName ?? 'Bitcoin Test'
    this.appVersion = opts.appVersion ?? '2.4.1'
    this.locked = opts.locked ?? false
    this.claimedByOther = opts.claimedByOther ?? false
    this.user = opts.user ?? (() => true)
    this.signWrongDigest = opts.signWrongDigest ?? false
    // SLIP-21 node "LEDGER-Wallet policy" of the seed: the key of the registration HMACs.
    const master = hmac(sha512, utf8ToBytes('Symmetric key seed'), opts.seed)
    this.policyKey = hmac(
      sha512,
      master.subarray(0, 32),
      concatBytes(Uint8Array.of(0), utf8ToBytes('LEDGER-Wallet policy')),
    ).subarray(32)
  }

  get fingerprint(): string {
    return bytesToHex(ripemd160(sha256(this.root.publicKey!)).subarray(0, 4))
  }

  private get testnet(): boolean {
    return this.appName === 'Bitcoin Test'
  }

  private versions() {
    return this.testnet
      ? { public: 0x043587cf, private: 0x04358394 }
      : { public: 0x0488b21e, private: 0x0488ade4 }
  }

  private network() {
    return this.testnet ? networks.testnet : networks.bitcoin
  }

  xpubAt(path: number[]): string {
    let node = this.root
    for (const i of path) node = node.deriveChild(i)
    return new HDKey({
      versions: this.versions(),
      depth: node.depth,
      index: node.index,
      parentFingerprint: node.parentFingerprint,
      chainCode: node.chainCode!,
      publicKey: node.publicKey!,
    }).publicExtendedKey
  }

  private show(screen: Screen): void {
    this.screens.push(screen)
    if (!this.user(screen)) throw new ApduError(SW.DENY)
  }

  // ---- APDU level ----

  /** One APDU in, the response data followed by the status word out. */
  async exchange(apdu: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => {
      const reply = (data: Uint8Array, sw: number) =>
        resolve(concatBytes(data, Uint8Array.of(sw >> 8, sw & 0xff)))
      if (this.locked) {
        this.session = undefined
        return reply(new Uint8Array(), SW.LOCKED)
      }
      if (apdu.length < 5 || apdu[4] !== apdu.length - 5)
        return reply(new Uint8Array(), SW.WRONG_DATA_LENGTH)
      const [cla, ins, p1, p2] = apdu
      const data = apdu.subarray(5)
      if (this.session) {
        const s = this.session
        if (cla !== 0xf8 || ins !== 0x01) {
          this.session = undefined
          return reply(new Uint8Array(), SW.BAD_STATE)
        }
        s.deliver = (r) => resolve(r)
        return s.resume(data.slice())
      }
      if (cla === 0xb0 && ins === 0x01) return reply(this.appAndVersion(), SW.OK)
      if (cla !== 0xe1 || !this.appName.startsWith('Bitcoin'))
        return reply(new Uint8Array(), SW.CLA_NOT_SUPPORTED)
      if (p1 !== 0 || (p2 !== 0 && p2 !== 1)) return reply(new Uint8Array(), SW.WRONG_P1P2)
      const handler = this.handler(ins!)
      if (!handler) return reply(new Uint8Array(), SW.INS_NOT_SUPPORTED)
      const session = {
        resume: (_: Uint8Array) => {},
        deliver: (r: Uint8Array) => resolve(r),
      }
      this.session = session
      const ch = new ClientChannel(
        (request) =>
          new Promise<Uint8Array>((next) => {
            session.resume = next
            session.deliver(concatBytes(request, Uint8Array.of(0xe0, 0x00)))
          }),
      )
      handler(new Reader(data.slice()), ch).then(
        (out) => {
          this.session = undefined
          session.deliver(concatBytes(out, Uint8Array.of(0x90, 0x00)))
        },
        (err: unknown) => {
          this.session = undefined
          const sw = err instanceof ApduError ? err.sw : SW.BAD_STATE
          this.lastRefusal = err instanceof Error ? (err.stack ?? err.message) : String(err)
          session.deliver(Uint8Array.of(sw >> 8, sw & 0xff))
        },
      )
    })
  }

  private appAndVersion(): Uint8Array {
    const name = utf8ToBytes(this.appName)
    const version = utf8ToBytes(this.appVersion)
    return concatBytes(
      Uint8Array.of(1, name.length),
      name,
      Uint8Array.of(version.length),
      version,
      Uint8Array.of(1, 0),
    )
  }

  private handler(ins: number) {
    const table: Record<number, (r: Reader, ch: ClientChannel) => Promise<Uint8Array>> = {
      0x00: (r) => this.getExtendedPubkey(r),
      0x02: (r, ch) => this.registerWallet(r, ch),
      0x03: (r, ch) => this.getWalletAddress(r, ch),
      0x04: (r, ch) => this.signPsbt(r, ch),
      0x05: async () => ripemd160(sha256(this.root.publicKey!)).subarray(0, 4),
    }
    return table[ins]
  }

  // ---- commands ----

  private standardPath(path: number[]): boolean {
    const coin = (this.testnet ? 1 : 0) + HARDENED
    const purpose = path[0]! - HARDENED
    if ([44, 49, 84, 86].includes(purpose))
      return (path.length === 3 || path.length === 5) && path[1] === coin && path[2]! >= HARDENED
    if (purpose === 48)
      return (
        (path.length === 4 || path.length === 6) &&
        path[1] === coin &&
        path[2]! >= HARDENED &&
        (path[3] === HARDENED + 1 || path[3] === HARDENED + 2)
      )
    return false
  }

  private async getExtendedPubkey(r: Reader): Promise<Uint8Array> {
    const display = r.u8()
    const n = r.u8()
    if (n > 8) throw new ApduError(SW.INCORRECT_DATA)
    const path: number[] = []
    for (let i = 0; i < n; i++) path.push(r.u32be())
    if (!r.done()) throw new ApduError(SW.WRONG_DATA_LENGTH)
    const xpub = this.xpubAt(path)
    if (display === 1) this.show({ kind: 'xpub', path: formatPath(path), xpub })
    else if (!this.standardPath(path)) throw new ApduError(SW.NOT_SUPPORTED)
    return utf8ToBytes(xpub)
  }

  private async readPolicy(ch: ClientChannel, serialized: Uint8Array): Promise<Policy> {
    const r = new Reader(serialized)
    if (r.u8() !== 2) throw new ApduError(SW.INCORRECT_DATA)
    const name = new TextDecoder().decode(r.bytes(r.u8()))
    const templateLen = r.varint()
    const templateHash = r.bytes(32)
    const nKeys = r.varint()
    const keysRoot = r.bytes(32)
    if (!r.done()) throw new ApduError(SW.INCORRECT_DATA)
    const template = new TextDecoder().decode(await ch.preimage(templateHash))
    if (template.length !== templateLen) throw new ApduError(SW.INCORRECT_DATA)
    const keys: KeyInfo[] = []
    for (let i = 0; i < nKeys; i++)
      keys.push(this.parseKey(new TextDecoder().decode(await ch.element(keysRoot, nKeys, i))))
    let shape: Policy['shape']
    if (template === 'wpkh(@0/**)' && nKeys === 1) shape = { kind: 'wpkh' }
    else {
      const m = /^wsh\(sortedmulti\((\d+),((?:@\d+\/\*\*,)*@\d+\/\*\*)\)\)$/.exec(template)
      if (!m) throw new ApduError(SW.INCORRECT_DATA)
      const placeholders = m[2]!.split(',').map((p) => Number(p.slice(1, -3)))
      const threshold = Number(m[1])
      if (
        placeholders.length !== nKeys ||
        placeholders.some((p, i) => p !== i) ||
        threshold < 1 ||
        threshold > nKeys
      )
        throw new ApduError(SW.INCORRECT_DATA)
      shape = { kind: 'sortedmulti', threshold }
    }
    return { id: sha256(serialized), name, template, keys, shape }
  }

  private parseKey(text: string): KeyInfo {
    const m = /^(?:\[([0-9a-f]{8})((?:\/\d+['h]?)*)\])?([1-9A-HJ-NP-Za-km-z]{100,112})$/.exec(text)
    if (!m) throw new ApduError(SW.INCORRECT_DATA)
    let node: HDKey
    try {
      node = HDKey.fromExtendedKey(m[3]!, this.versions())
    } catch {
      throw new ApduError(SW.INCORRECT_DATA)
    }
    const path = (m[2] ?? '')
      .split('/')
      .slice(1)
      .map((s) => (/['h]$/.test(s) ? Number(s.slice(0, -1)) + HARDENED : Number(s)))
    return { text, ...(m[1] ? { fingerprint: m[1] } : {}), path, node }
  }

  /** A key of the policy is this device's when its origin is our fingerprint and the xpub ours. */
  private internal(k: KeyInfo): boolean {
    return k.fingerprint === this.fingerprint && this.xpubAt(k.path) === k.node.publicExtendedKey
  }

  private policyHmac(id: Uint8Array): Uint8Array {
    return hmac(sha256, this.policyKey, id)
  }

  private checkAuthorised(policy: Policy, mac: Uint8Array): void {
    if (policy.name === '') {
      const k = policy.keys[0]!
      const purposeOk =
        policy.shape.kind === 'wpkh' &&
        k.path.length === 3 &&
        k.path[0] === HARDENED + 84 &&
        this.standardPath(k.path) &&
        k.path[2]! - HARDENED <= 100
      if (!purposeOk || mac.some((b) => b !== 0) || !this.internal(k))
        throw new ApduError(SW.INCORRECT_DATA)
      return
    }
    if (!equal(this.policyHmac(policy.id), mac)) throw new ApduError(SW.SIGNATURE_FAIL)
  }

  private async registerWallet(r: Reader, ch: ClientChannel): Promise<Uint8Array> {
    const serialized = r.bytes(r.varint())
    if (!r.done()) throw new ApduError(SW.WRONG_DATA_LENGTH)
    const policy = await this.readPolicy(ch, serialized)
    if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(policy.name))
      throw new ApduError(SW.INCORRECT_DATA)
    if (!policy.keys.some((k) => this.internal(k))) throw new ApduError(SW.INCORRECT_DATA)
    this.show({
      kind: 'register',
      name: policy.name,
      template: policy.template,
      keys: policy.keys.map((k) => k.text),
    })
    return concatBytes(policy.id, this.policyHmac(policy.id))
  }

  /** The output script of the policy at change/index, and this device's key(s) in it. */
  private scriptAt(policy: Policy, change: number, index: number) {
    const children = policy.keys.map((k) => k.node.deriveChild(change).deriveChild(index))
    if (policy.shape.kind === 'wpkh') {
      const p = payments.p2wpkh({ pubkey: children[0]!.publicKey!, network: this.network() })
      return { script: p.output!, witnessScript: undefined, children }
    }
    const sorted = children.map((c) => c.publicKey!).sort(compare)
    const redeem = payments.p2ms({
      m: policy.shape.threshold,
      pubkeys: sorted,
      network: this.network(),
    })
    const p = payments.p2wsh({ redeem, network: this.network() })
    return { script: p.output!, witnessScript: redeem.output!, children }
  }

  private async getWalletAddress(r: Reader, ch: ClientChannel): Promise<Uint8Array> {
    const display = r.u8()
    const walletId = r.bytes(32)
    const mac = r.bytes(32)
    const change = r.u8()
    const index = r.u32be()
    if (!r.done() || change > 1) throw new ApduError(SW.INCORRECT_DATA)
    const policy = await this.readPolicy(ch, await ch.preimage(walletId))
    this.checkAuthorised(policy, mac)
    if (index >= HARDENED || (policy.name === '' && index > 50000))
      throw new ApduError(SW.INCORRECT_DATA)
    const { script } = this.scriptAt(policy, change, index)
    const address = baddress.fromOutputScript(script, this.network())
    if (display === 1) this.show({ kind: 'address', wallet: policy.name, address })
    return utf8ToBytes(address)
  }

  private async signPsbt(r: Reader, ch: ClientChannel): Promise<Uint8Array> {
    const global = new MapCommitment(ch, r.varint(), r.bytes(32).slice(), r.bytes(32).slice())
    const nInputs = r.varint()
    const inputsRoot = r.bytes(32).slice()
    const nOutputs = r.varint()
    const outputsRoot = r.bytes(32).slice()
    const walletId = r.bytes(32).slice()
    const mac = r.bytes(32).slice()
    if (!r.done()) throw new ApduError(SW.WRONG_DATA_LENGTH)
    const policy = await this.readPolicy(ch, await ch.preimage(walletId))
    this.checkAuthorised(policy, mac)

    const le32 = (b: Uint8Array | undefined, fallback?: number) => {
      if (!b) {
        if (fallback === undefined) throw new ApduError(SW.INCORRECT_DATA)
        return fallback
      }
      if (b.length !== 4) throw new ApduError(SW.INCORRECT_DATA)
      return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0
    }
    const version = le32(await global.get(Uint8Array.of(0xfb)))
    if (version !== 2) throw new ApduError(SW.INCORRECT_DATA)
    // BIP370: the counts are compact-size integers and must match what the APDU committed to.
    const ni = await global.get(Uint8Array.of(0x04))
    const no = await global.get(Uint8Array.of(0x05))
    if (!ni || !no || new Reader(ni).varint() !== nInputs || new Reader(no).varint() !== nOutputs)
      throw new ApduError(SW.INCORRECT_DATA)
    const tx = new Transaction()
    tx.version = le32(await global.get(Uint8Array.of(0x02)))
    tx.locktime = le32(await global.get(Uint8Array.of(0x03)), 0)

    interface Mine {
      input: number
      pubkey: Uint8Array
      path: number[]
      scriptCode: Uint8Array
      value: bigint
    }
    const mine: Mine[] = []
    let totalIn = 0n
    for (let i = 0; i < nInputs; i++) {
      const map = MapCommitment.parse(ch, await ch.element(inputsRoot, nInputs, i))
      const txid = await map.get(Uint8Array.of(0x0e))
      const vout = le32(await map.get(Uint8Array.of(0x0f)))
      const sequence = le32(await map.get(Uint8Array.of(0x10)), 0xffffffff)
      if (!txid || txid.length !== 32) throw new ApduError(SW.INCORRECT_DATA)
      tx.addInput(txid.slice(), vout, sequence)
      const sighash = await map.get(Uint8Array.of(0x03))
      if (sighash && le32(sighash) !== Transaction.SIGHASH_ALL)
        throw new ApduError(SW.NOT_SUPPORTED)
      // Segwit v0 amounts can be lied about across inputs: the previous transaction is required
      // and must agree with the witness UTXO.
      const prevRaw = await map.get(Uint8Array.of(0x00))
      const wu = await map.get(Uint8Array.of(0x01))
      if (!prevRaw || !wu) throw new ApduError(SW.INCORRECT_DATA)
      const prev = Transaction.fromBuffer(prevRaw)
      if (!equal(Uint8Array.from(prev.getHash()), txid)) throw new ApduError(SW.INCORRECT_DATA)
      const out = prev.outs[vout]
      const wr = new Reader(wu)
      const wuValue = new DataView(wr.bytes(8).slice().buffer).getBigUint64(0, true)
      const wuScript = wr.bytes(wr.varint())
      if (!out || out.value !== wuValue || !equal(out.script, wuScript))
        throw new ApduError(SW.INCORRECT_DATA)
      totalIn += out.value
      // Whose input is it: a derivation with our fingerprint whose /change/index rebuilds the
      // input's script from the policy.
      for (const key of await map.keys()) {
        if (key[0] !== 0x06 || key.length !== 34) continue
        const origin = await map.get(key)
        if (!origin || origin.length < 4 || (origin.length - 4) % 4 !== 0) continue
        if (bytesToHex(origin.subarray(0, 4)) !== this.fingerprint) continue
        const or = new Reader(origin.subarray(4))
        const path: number[] = []
        while (!or.done()) path.push(or.u32le()) // BIP174: little-endian
        const ours = policy.keys.find(
          (k) =>
            this.internal(k) &&
            path.length === k.path.length + 2 &&
            k.path.every((s, j) => path[j] === s),
        )
        if (!ours) continue
        const [change, index] = path.slice(-2) as [number, number]
        if (change > 1 || index >= HARDENED) continue
        const at = this.scriptAt(policy, change, index)
        if (!equal(at.script, wuScript)) continue
        const pubkey = key.subarray(1)
        if (!at.children.some((c) => equal(c.publicKey!, pubkey))) continue
        const scriptCode =
          at.witnessScript ??
          payments.p2pkh({ hash: ripemd160(sha256(pubkey)), network: this.network() }).output!
        mine.push({ input: i, pubkey: pubkey.slice(), path, scriptCode, value: out.value })
      }
    }
    if (mine.length === 0) throw new ApduError(SW.INCORRECT_DATA)

    const shown: { address: string; amount: bigint }[] = []
    let totalOut = 0n
    for (let i = 0; i < nOutputs; i++) {
      const map = MapCommitment.parse(ch, await ch.element(outputsRoot, nOutputs, i))
      const amountRaw = await map.get(Uint8Array.of(0x03))
      const script = await map.get(Uint8Array.of(0x04))
      if (!amountRaw || amountRaw.length !== 8 || !script) throw new ApduError(SW.INCORRECT_DATA)
      const amount = new DataView(amountRaw.slice().buffer).getBigUint64(0, true)
      tx.addOutput(script.slice(), amount)
      totalOut += amount
      let change = false
      for (const key of await map.keys()) {
        if (key[0] !== 0x02 || key.length !== 34) continue
        const origin = await map.get(key)
        if (!origin || bytesToHex(origin.subarray(0, 4)) !== this.fingerprint) continue
        const or = new Reader(origin.subarray(4))
        const path: number[] = []
        while (!or.done()) path.push(or.u32le()) // BIP174: little-endian
        const [c, idx] = path.slice(-2) as [number, number]
        if (path.length < 2 || c !== 1 || idx >= HARDENED) continue
        if (equal(this.scriptAt(policy, 1, idx).script, script)) change = true
      }
      if (!change) {
        let address: string
        try {
          address = baddress.fromOutputScript(script, this.network())
        } catch {
          address = `script ${bytesToHex(script)}`
        }
        shown.push({ address, amount })
      }
    }
    if (totalOut > totalIn) throw new ApduError(SW.INCORRECT_DATA)
    this.show({ kind: 'sign', wallet: policy.name, outputs: shown, fee: totalIn - totalOut })

    for (const m of mine) {
      const digest = tx.hashForWitnessV0(m.input, m.scriptCode, m.value, Transaction.SIGHASH_ALL)
      let node = this.root
      for (const s of m.path) node = node.deriveChild(s)
      if (!equal(node.publicKey!, m.pubkey)) throw new ApduError(SW.BAD_STATE)
      const signed = this.signWrongDigest ? sha256(digest) : digest
      const sig = secp256k1.sign(signed, node.privateKey!, { prehash: false, lowS: true })
      const der = bscript.signature.encode(sig, Transaction.SIGHASH_ALL)
      await ch.yieldData(
        concatBytes(varint(m.input), Uint8Array.of(m.pubkey.length), m.pubkey, der),
      )
    }
    return new Uint8Array()
  }

  // ---- USB level: Ledger's HID framing under a WebUSB-shaped device ----

  /** A WebUSB-shaped device object (the subset of the `usb` package's WebUSBDevice the box uses). */
  usbDevice(): LedgerUsbDeviceDouble {
    return new LedgerUsbDeviceDouble(this)
  }
}

const TAG = 0x05
const PACKET = 64

/** Splits a response into 64-byte HID frames (channel, tag, sequence, length on the first). */
export function frameResponse(channel: number, data: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = []
  let offset = 0
  for (let seq = 0; offset < data.length || seq === 0; seq++) {
    const f = new Uint8Array(PACKET)
    f[0] = channel >> 8
    f[1] = channel & 0xff
    f[2] = TAG
    f[3] = seq >> 8
    f[4] = seq & 0xff
    let at = 5
    if (seq === 0) {
      f[5] = data.length >> 8
      f[6] = data.length & 0xff
      at = 7
    }
    const chunk = data.subarray(offset, offset + PACKET - at)
    f.set(chunk, at)
    offset += chunk.length
    frames.push(f)
  }
  return frames
}

export class LedgerUsbDeviceDouble {
  readonly vendorId = 0x2c97
  readonly productId = 0x5011
  readonly productName = 'Nano S Plus'
  readonly manufacturerName = 'Ledger'
  opened = false
  claimed = false
  /** Unplug: every transfer from now on fails as libusb reports a vanished device. */
  unplugged = false
  readonly configuration = {
    configurationValue: 1,
    interfaces: [
      { interfaceNumber: 0, alternate: { interfaceClass: 3, endpoints: [] } },
      {
        interfaceNumber: 2,
        alternate: {
          interfaceClass: 0xff,
          endpoints: [
            { endpointNumber: 3, direction: 'in' as const, packetSize: 64 },
            { endpointNumber: 3, direction: 'out' as const, packetSize: 64 },
          ],
        },
      },
    ],
  }
  private inbound: Uint8Array[] = []
  private expected = 0
  private assembled: Uint8Array[] = []
  private outbox: Uint8Array[] = []
  private waiting?: (f: Uint8Array) => void

  constructor(private readonly device: LedgerEmulator) {}

  async open(): Promise<void> {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE')
    this.opened = true
  }
  async close(): Promise<void> {
    this.opened = false
    this.claimed = false
  }
  async selectConfiguration(): Promise<void> {}
  async claimInterface(n: number): Promise<void> {
    if (!this.opened) throw new Error('device not open')
    if (this.device.claimedByOther) throw new Error('LIBUSB_ERROR_BUSY: Resource busy')
    if (n !== 2) throw new Error('LIBUSB_ERROR_NOT_FOUND')
    this.claimed = true
  }
  async releaseInterface(): Promise<void> {
    this.claimed = false
  }

  async transferOut(endpoint: number, data: Uint8Array) {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE')
    if (!this.claimed || endpoint !== 3) throw new Error('LIBUSB_ERROR_PIPE')
    const f = data.slice()
    if (f.length !== PACKET) throw new Error('LIBUSB_ERROR_IO')
    const channel = (f[0]! << 8) | f[1]!
    const seq = (f[3]! << 8) | f[4]!
    if (f[2] !== TAG || seq !== this.inbound.length) throw new Error('bad HID frame sequence')
    this.inbound.push(f)
    if (seq === 0) this.expected = (f[5]! << 8) | f[6]!
    this.assembled.push(f.subarray(seq === 0 ? 7 : 5))
    const have = this.assembled.reduce((n, c) => n + c.length, 0)
    if (have >= this.expected) {
      const apdu = concatBytes(...this.assembled).subarray(0, this.expected)
      this.inbound = []
      this.assembled = []
      void this.device.exchange(apdu).then((response) => {
        for (const frame of frameResponse(channel, response)) this.push(frame)
      })
    }
    return { status: 'ok' as const, bytesWritten: PACKET }
  }

  private push(frame: Uint8Array) {
    const w = this.waiting
    if (w) {
      this.waiting = undefined
      w(frame)
    } else this.outbox.push(frame)
  }

  async transferIn(endpoint: number, length: number) {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE')
    if (!this.claimed || endpoint !== 3 || length < PACKET) throw new Error('LIBUSB_ERROR_PIPE')
    const next = this.outbox.shift()
    const frame =
      next ??
      (await new Promise<Uint8Array>((resolve, reject) => {
        this.waiting = resolve
        const poll = setInterval(() => {
          if (this.unplugged) {
            clearInterval(poll)
            this.waiting = undefined
            reject(new Error('LIBUSB_ERROR_NO_DEVICE'))
          } else if (!this.waiting) clearInterval(poll)
        }, 5)
      }))
    return { status: 'ok' as const, data: new DataView(frame.buffer, frame.byteOffset, PACKET) }
  }
}
