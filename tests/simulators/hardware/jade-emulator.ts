// SIMULATOR — a Blockstream Jade on its USB serial port, written from Jade's RPC documentation
// (docs/index.rst), not from its firmware:
// - CBOR messages {id, method, params} → {id, result} or {id, error: {code, message}}, as one
//   byte stream (the emulator answers in 64-byte pieces, as a serial port delivers them);
// - get_version_info (JADE_VERSION, JADE_STATE, JADE_NETWORKS), auth_user → an `http_request`
//   for the blind PIN server → `pin` with the server's reply → true/false, get_xpub,
//   register_multisig (descriptor form, wsh(multi(k)) sorted), get_registered_multisig,
//   get_receive_address (multisig by
//   name and paths; single-sig by variant and path), sign_psbt with seqlen/seqnum and
//   get_extended_data for long replies;
// - error codes of main/utils/cbor_rpc.h: -32000 user cancelled, -32002 locked, -32003 network
//   mismatch, -32602 bad parameters, -32601 unknown method.
// The PIN server here (JadePinServer, a real HTTP server on 127.0.0.1) keeps Jade's blind PIN
// server idea: the device never holds the key that opens its seed; the server derives it from a
// server secret and the (encrypted) PIN, so a stolen device alone cannot be brute-forced. Its
// message format is this emulator's own (ECDH + AES-256-GCM), not Blockstream's, and a device
// starts "already set up" with a server (its check value is made in-process).
// Holds a real seed and signs for real; three wrong PINs wipe it, as a Jade does.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeFirst, encode } from 'cborg'
import { HDKey } from '@scure/bip32'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { address as baddress, networks, payments, Psbt } from 'bitcoinjs-lib'
import { signInputs, spentValue } from './psbt-signing'
import { ReportQueue } from './report-queue'

const HARDENED = 0x80000000

function gcmSeal(key: Uint8Array, plain: Uint8Array): Uint8Array {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(plain), c.final()])
  return concatBytes(iv, body, c.getAuthTag())
}

function gcmOpen(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12))
  d.setAuthTag(sealed.subarray(sealed.length - 16))
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()])
}

/** The blind PIN server: POST /get_pin {data: base64} → {data: base64}. */
export class JadePinServer {
  private readonly serverKey = secp256k1.utils.randomSecretKey()
  private readonly secret = randomBytes(32)
  private server?: Server
  url = ''
  requests = 0

  get publicKey(): Uint8Array {
    return secp256k1.getPublicKey(this.serverKey, true)
  }

  /** The key that opens a device's seed for one PIN. */
  keyFor(devicePub: Uint8Array, pinSecret: Uint8Array): Uint8Array {
    return hmac(sha256, this.secret, concatBytes(devicePub, pinSecret))
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        this.requests++
        try {
          if (req.method !== 'POST' || req.url !== '/get_pin') throw new Error('not found')
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: string }
          const raw = Buffer.from(body.data, 'base64')
          const cke = raw.subarray(0, 33)
          const k = sha256(secp256k1.getSharedSecret(this.serverKey, cke, true).subarray(1))
          const inner = gcmOpen(k, raw.subarray(33))
          const key = this.keyFor(inner.subarray(0, 33), inner.subarray(33, 65))
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ data: Buffer.from(gcmSeal(k, key)).toString('base64') }))
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: 'bad request' }))
        }
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/get_pin`
    return this.url
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    )
  }
}

export type JadeScreen =
  | { kind: 'pin' }
  | { kind: 'register'; name: string; threshold: number; signers: number }
  | { kind: 'address'; address: string }
  | { kind: 'sign'; outputs: { address: string; amount: bigint }[]; fee: bigint }

export interface JadeEmulatorOptions {
  seed: Uint8Array
  pin: string
  pinServer: JadePinServer
  /** 'TEST' (testnet/regtest) or 'MAIN'. */
  networks?: 'TEST' | 'MAIN'
  version?: string
  /** The PIN the owner types on the device when asked. */
  typedPin?: () => string
  user?: (screen: JadeScreen) => boolean
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

interface Registered {
  name: string
  threshold: number
  signers: { fingerprint: string; derivation: number[]; node: HDKey }[]
}

export class JadeEmulator {
  private root?: HDKey
  private readonly seed: Uint8Array
  private readonly deviceKey = secp256k1.utils.randomSecretKey()
  private readonly pinCheck: Uint8Array
  private readonly pinUrl: string
  private readonly serverPub: Uint8Array
  private pending?: { ephemeral: Uint8Array; pinSecret: Uint8Array }
  private failures = 0
  private wiped = false
  private inbox: Uint8Array = new Uint8Array()
  private readonly reports = new ReportQueue()
  private extended?: { id: string; parts: Uint8Array[] }
  readonly screens: JadeScreen[] = []
  /** The last unexpected exception inside the emulator, for a failing test to print. */
  lastInternalError?: unknown
  readonly registered = new Map<string, Registered>()
  version: string
  networks: 'TEST' | 'MAIN'
  typedPin: () => string
  user: (screen: JadeScreen) => boolean

  constructor(opts: JadeEmulatorOptions) {
    this.seed = opts.seed
    this.version = opts.version ?? '1.0.31'
    this.networks = opts.networks ?? 'TEST'
    this.typedPin = opts.typedPin ?? (() => opts.pin)
    this.user = opts.user ?? (() => true)
    this.pinUrl = opts.pinServer.url
    this.serverPub = opts.pinServer.publicKey
    // Set up earlier with this PIN server: only a check of the server's key is kept.
    this.pinCheck = sha256(opts.pinServer.keyFor(this.devicePub, sha256(utf8ToBytes(opts.pin))))
  }

  private get devicePub(): Uint8Array {
    return secp256k1.getPublicKey(this.deviceKey, true)
  }

  get fingerprint(): string {
    return bytesToHex(ripemd160(sha256(HDKey.fromMasterSeed(this.seed).publicKey!)).subarray(0, 4))
  }

  get state(): string {
    return this.wiped ? 'UNINIT' : this.root ? 'READY' : 'LOCKED'
  }

  // ---- serial stream ----

  write(bytes: Uint8Array): void {
    this.inbox = concatBytes(this.inbox, bytes)
    for (;;) {
      let msg: unknown
      try {
        ;[msg, this.inbox] = decodeFirst(this.inbox) as [unknown, Uint8Array]
      } catch {
        return // wait for the rest of the message
      }
      const reply = this.handle(msg as { id?: unknown; method?: unknown; params?: unknown })
      const bytes = encode(reply)
      for (let at = 0; at < bytes.length; at += 64) this.push(bytes.slice(at, at + 64))
    }
  }

  read(): Promise<Uint8Array> {
    return this.reports.read()
  }

  private push(b: Uint8Array) {
    this.reports.push(b)
  }

  stream() {
    return {
      write: async (b: Uint8Array) => this.write(b),
      read: () => this.read(),
      close: async () => {},
    }
  }

  // ---- RPC ----

  private handle(msg: { id?: unknown; method?: unknown; params?: unknown }) {
    const id = typeof msg.id === 'string' ? msg.id : ''
    try {
      if (!id || id.length > 16 || typeof msg.method !== 'string')
        throw new RpcError(-32600, 'Invalid request')
      const params = (msg.params ?? {}) as Record<string, unknown>
      const result = this.call(msg.method, params, id)
      if (result instanceof Array && result[0] === 'extended') return result[1]
      return { id, result }
    } catch (err) {
      if (!(err instanceof RpcError)) this.lastInternalError = err
      const e = err instanceof RpcError ? err : new RpcError(-32603, 'Internal error')
      return { id, error: { code: e.code, message: e.message } }
    }
  }

  private network(params: Record<string, unknown>) {
    const n = params.network
    if (n === 'mainnet') {
      if (this.networks !== 'MAIN') throw new RpcError(-32003, 'Network type inconsistent')
      return networks.bitcoin
    }
    if (n === 'testnet' || n === 'localtest') {
      if (this.networks !== 'TEST') throw new RpcError(-32003, 'Network type inconsistent')
      return n === 'localtest' ? networks.regtest : networks.testnet
    }
    throw new RpcError(-32602, 'Invalid network')
  }

  private unlocked(): HDKey {
    if (!this.root) throw new RpcError(-32002, 'Hardware locked - call auth_user first')
    return this.root
  }

  private show(screen: JadeScreen) {
    this.screens.push(screen)
    if (!this.user(screen)) throw new RpcError(-32000, 'User declined')
  }

  private xpub(node: HDKey, net: typeof networks.bitcoin) {
    const versions =
      net === networks.bitcoin
        ? { public: 0x0488b21e, private: 0x0488ade4 }
        : { public: 0x043587cf, private: 0x04358394 }
    return new HDKey({
      versions,
      depth: node.depth,
      index: node.index,
      parentFingerprint: node.parentFingerprint,
      chainCode: node.chainCode!,
      publicKey: node.publicKey!,
    }).publicExtendedKey
  }

  private derive(path: unknown): HDKey {
    if (!Array.isArray(path) || path.some((p) => !Number.isInteger(p) || p < 0 || p > 0xffffffff))
      throw new RpcError(-32602, 'Invalid path')
    let node = this.unlocked()
    for (const i of path as number[]) node = node.deriveChild(i)
    return node
  }

  private call(method: string, params: Record<string, unknown>, id: string): unknown {
    switch (method) {
      case 'get_version_info':
        return {
          JADE_VERSION: this.version,
          JADE_STATE: this.state,
          JADE_NETWORKS: this.wiped ? 'ALL' : this.networks,
          JADE_HAS_PIN: !this.wiped,
          BOARD_TYPE: 'JADE_V2',
          JADE_OTA_MAX_CHUNK: 4096,
        }
      case 'auth_user': {
        if (this.wiped) throw new RpcError(-32603, 'No wallet on this Jade')
        this.network(params)
        if (this.root) return true
        this.screens.push({ kind: 'pin' })
        const pinSecret = sha256(utf8ToBytes(this.typedPin()))
        const ephemeral = secp256k1.utils.randomSecretKey()
        const k = sha256(secp256k1.getSharedSecret(ephemeral, this.serverPub, true).subarray(1))
        const sealed = gcmSeal(k, concatBytes(this.devicePub, pinSecret))
        this.pending = { ephemeral, pinSecret }
        const data = concatBytes(secp256k1.getPublicKey(ephemeral, true), sealed)
        return {
          http_request: {
            params: {
              urls: [this.pinUrl],
              method: 'POST',
              accept: 'json',
              data: { data: Buffer.from(data).toString('base64') },
            },
            'on-reply': 'pin',
          },
        }
      }
      case 'pin': {
        const p = this.pending
        this.pending = undefined
        const data = (params as { data?: unknown }).data
        if (!p || typeof data !== 'string') throw new RpcError(-32001, 'Unexpected pin message')
        const k = sha256(secp256k1.getSharedSecret(p.ephemeral, this.serverPub, true).subarray(1))
        let key: Uint8Array
        try {
          key = gcmOpen(k, Buffer.from(data, 'base64'))
        } catch {
          throw new RpcError(-32001, 'Bad reply from the PIN server')
        }
        if (bytesToHex(sha256(key)) !== bytesToHex(this.pinCheck)) {
          if (++this.failures >= 3) this.wiped = true
          return false
        }
        this.failures = 0
        this.root = HDKey.fromMasterSeed(this.seed)
        return true
      }
      case 'get_xpub':
        return this.xpub(this.derive(params.path), this.network(params))
      case 'register_multisig':
        return this.registerMultisig(params)
      case 'get_registered_multisig': {
        this.unlocked()
        const w = this.registered.get(String(params.multisig_name))
        if (!w) throw new RpcError(-32602, 'Multisig not found')
        return {
          multisig_name: w.name,
          descriptor: {
            variant: 'wsh(multi(k))',
            sorted: true,
            threshold: w.threshold,
            signers: w.signers.map((x) => ({
              fingerprint: Uint8Array.from(Buffer.from(x.fingerprint, 'hex')),
              derivation: x.derivation,
              xpub: x.node.publicExtendedKey,
              path: [],
            })),
          },
        }
      }
      case 'get_receive_address':
        return this.receiveAddress(params)
      case 'sign_psbt':
        return this.signPsbt(params, id)
      case 'get_extended_data': {
        const x = this.extended
        const seq = Number(params.seqnum)
        if (!x || params.origid !== x.id || !x.parts[seq - 1])
          throw new RpcError(-32602, 'No such extended data')
        const reply = {
          id,
          seqnum: seq,
          seqlen: x.parts.length,
          result: x.parts[seq - 1],
        }
        if (seq === x.parts.length) this.extended = undefined
        return ['extended', reply]
      }
      default:
        throw new RpcError(-32601, `Unknown method ${method}`)
    }
  }

  private registerMultisig(params: Record<string, unknown>) {
    const net = this.network(params)
    const root = this.unlocked()
    const name = params.multisig_name
    const d = params.descriptor as
      | {
          variant?: string
          sorted?: boolean
          threshold?: number
          signers?: {
            fingerprint: Uint8Array
            derivation: number[]
            xpub: string
            path: number[]
          }[]
        }
      | undefined
    if (typeof name !== 'string' || name.length === 0 || name.length >= 16)
      throw new RpcError(-32602, 'Invalid multisig name')
    if (!d || d.variant !== 'wsh(multi(k))' || d.sorted !== true || !d.signers)
      throw new RpcError(-32602, 'Only sorted wsh(multi(k)) in this emulator')
    const threshold = d.threshold ?? 0
    if (threshold < 1 || threshold > d.signers.length)
      throw new RpcError(-32602, 'Invalid threshold')
    const fp = this.fingerprint
    const signers = d.signers.map((s) => {
      const versions =
        net === networks.bitcoin
          ? { public: 0x0488b21e, private: 0x0488ade4 }
          : { public: 0x043587cf, private: 0x04358394 }
      const node = HDKey.fromExtendedKey(s.xpub, versions)
      if ((s.path ?? []).length !== 0) throw new RpcError(-32602, 'Signer paths not supported')
      return { fingerprint: bytesToHex(s.fingerprint), derivation: s.derivation, node }
    })
    const mine = signers.filter((s) => s.fingerprint === fp)
    if (
      mine.length === 0 ||
      mine.some((s) => {
        let n = root
        for (const i of s.derivation) n = n.deriveChild(i)
        return this.xpub(n, net) !== s.node.publicExtendedKey
      })
    )
      throw new RpcError(-32602, 'This wallet is not a signer of the multisig')
    this.show({ kind: 'register', name, threshold, signers: signers.length })
    this.registered.set(name, { name, threshold, signers })
    return true
  }

  private multisigScript(w: Registered, paths: number[][], network = networks.bitcoin) {
    const keys = w.signers.map((s, i) => {
      let n = s.node
      for (const step of paths[i] ?? []) n = n.deriveChild(step)
      return n.publicKey!
    })
    return payments.p2ms({
      m: w.threshold,
      pubkeys: keys.sort((a, b) => (bytesToHex(a) < bytesToHex(b) ? -1 : 1)),
      network,
    })
  }

  private receiveAddress(params: Record<string, unknown>) {
    const net = this.network(params)
    this.unlocked()
    let address: string
    if (typeof params.multisig_name === 'string') {
      const w = this.registered.get(params.multisig_name)
      if (!w) throw new RpcError(-32602, 'Multisig not registered')
      const paths = params.paths as number[][]
      if (!Array.isArray(paths) || paths.length !== w.signers.length)
        throw new RpcError(-32602, 'Invalid paths')
      address = payments.p2wsh({
        redeem: this.multisigScript(w, paths, net),
        network: net,
      }).address!
    } else if (params.variant === 'wpkh(k)') {
      address = payments.p2wpkh({
        pubkey: this.derive(params.path).publicKey!,
        network: net,
      }).address!
    } else throw new RpcError(-32602, 'Unsupported variant')
    this.show({ kind: 'address', address })
    return address
  }

  /** The registered multisig whose keys, at the PSBT's paths, make this witness script. */
  private multisigFor(input: Psbt['data']['inputs'][number]): Registered | undefined {
    if (!input.witnessScript) return undefined
    for (const w of this.registered.values()) {
      const paths = w.signers.map((s) => {
        const d = input.bip32Derivation?.find(
          (x) => bytesToHex(x.masterFingerprint) === s.fingerprint,
        )
        const steps = d?.path.split('/').slice(1) ?? []
        return steps
          .slice(-2)
          .map((p) => (p.endsWith("'") ? Number(p.slice(0, -1)) + HARDENED : Number(p)))
      })
      if (paths.some((p) => p.length !== 2)) continue
      const ms = this.multisigScript(w, paths)
      if (bytesToHex(ms.output!) === bytesToHex(input.witnessScript)) return w
    }
    return undefined
  }

  private signPsbt(params: Record<string, unknown>, id: string) {
    const net = this.network(params)
    const root = this.unlocked()
    if (!(params.psbt instanceof Uint8Array)) throw new RpcError(-32602, 'Invalid psbt')
    let psbt: Psbt
    try {
      psbt = Psbt.fromBuffer(params.psbt, { network: net })
    } catch {
      throw new RpcError(-32602, 'Invalid psbt')
    }
    const fp = this.fingerprint
    const toSign: { i: number; node: HDKey }[] = []
    let totalIn = 0n
    psbt.data.inputs.forEach((input, i) => {
      const value = spentValue(psbt, i)
      if (value === undefined)
        throw new RpcError(-32602, `Input ${i} has no or a wrong previous transaction`)
      totalIn += value
      const mine = input.bip32Derivation?.find((d) => bytesToHex(d.masterFingerprint) === fp)
      if (!mine) return
      if (input.witnessScript && !this.multisigFor(input))
        throw new RpcError(-32602, 'Multisig input of a wallet not registered on this Jade')
      const node = root.derive(mine.path)
      if (bytesToHex(node.publicKey!) !== bytesToHex(mine.pubkey))
        throw new RpcError(-32602, 'Key does not match path')
      toSign.push({ i, node })
    })
    let totalOut = 0n
    const shown: { address: string; amount: bigint }[] = []
    psbt.txOutputs.forEach((o, i) => {
      totalOut += o.value
      const change = psbt.data.outputs[i]!.bip32Derivation?.some(
        (d) => bytesToHex(d.masterFingerprint) === fp && /\/1\/\d+$/.test(d.path),
      )
      if (!change)
        shown.push({ address: baddress.fromOutputScript(o.script, net), amount: o.value })
    })
    this.show({ kind: 'sign', outputs: shown, fee: totalIn - totalOut })
    signInputs(psbt, toSign)
    const out = psbt.toBuffer()
    // Long replies come in pieces the host fetches with get_extended_data.
    const parts: Uint8Array[] = []
    for (let at = 0; at < out.length; at += 1024)
      parts.push(Uint8Array.from(out.subarray(at, at + 1024)))
    if (parts.length === 1) return parts[0]
    this.extended = { id, parts }
    return ['extended', { id, seqnum: 1, seqlen: parts.length, result: parts[0] }]
  }
}
