// SIMULATOR — a Coldcard on USB, written from Coinkite's ckcc-protocol (PROTOCOL.md, protocol.py,
// constants.py, client.py), not from its firmware:
// - HID framing: 64-byte reports, first byte = payload length (≤ 63) | 0x80 on the last packet
//   | 0x40 when encrypted; a zero-length last packet resynchronises;
// - the encrypted link: `ncry` (v1) with the host's 64-byte public key, answered by `mypb` (the
//   device key, master fingerprint and xpub); session key = SHA-256(x‖y of the ECDH point); every
//   later message AES-256-CTR, one counter stream per direction from 0; `mitm` signs the session
//   key with the master key (65 bytes: header, r, s);
// - commands: vers, blkc, xpub, show, upld, sha2, dwld, enrl (multisig setup file), msck, p2sh,
//   stxn + stok polling (okay while waiting, strx when signed, refu when refused);
// - responses okay, int1, biny, asci, mypb, strx, refu, busy, err_, fram.
// It holds a real seed and signs for real (BIP143, low-S), and only for a multisig it has
// enrolled, as a Coldcard does by default. Not modelled: HSM mode, backups, firmware upgrade,
// message signing, taproot, miniscript, PSBT v2, finalising (flags other than 0 are refused).
import { createCipheriv, type Cipheriv } from 'node:crypto'
import { HDKey } from '@scure/bip32'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { address as baddress, networks, payments, Psbt } from 'bitcoinjs-lib'
import { signInputs, spentValue } from './psbt-signing'
import { ReportQueue } from './report-queue'

const HARDENED = 0x80000000
export type ColdcardChain = 'BTC' | 'XTN' | 'XRT'
export type ColdcardScreen =
  | { kind: 'enroll'; name: string; m: number; n: number }
  | { kind: 'address'; address: string }
  | { kind: 'sign'; outputs: { address: string; amount: bigint }[]; fee: bigint }

interface Enrolled {
  name: string
  m: number
  keys: { xfp: string; path: number[]; node: HDKey }[]
}

export interface ColdcardEmulatorOptions {
  seed: Uint8Array
  chain?: ColdcardChain
  version?: string
  user?: (screen: ColdcardScreen) => boolean
  /** Another program is talking to it: every command answers `busy`. */
  busy?: boolean
  /** A faulty or malicious device: its signatures are made over the wrong digest. */
  signWrongDigest?: boolean
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n >>> 0, true)
  return b
}

/** An XFP as ckcc handles it: the 4 fingerprint bytes read as a little-endian integer. */
const xfpNumber = (hex: string) =>
  new DataView(Uint8Array.from(Buffer.from(hex, 'hex')).buffer).getUint32(0, true)

class Failure extends Error {
  constructor(readonly response: Uint8Array) {
    super('coldcard error')
  }
}
const fail = (sig: 'err_' | 'refu' | 'busy' | 'fram', text = '') =>
  new Failure(concatBytes(utf8ToBytes(sig), utf8ToBytes(text)))

export class ColdcardEmulator {
  readonly root: HDKey
  chain: ColdcardChain
  version: string
  busy: boolean
  signWrongDigest: boolean
  user: (screen: ColdcardScreen) => boolean
  readonly screens: ColdcardScreen[] = []
  readonly enrolled: Enrolled[] = []
  /** Messages the host sent before starting encryption (tests check none carried secrets). */
  readonly plaintextCommands: string[] = []
  private readonly devKey = secp256k1.utils.randomSecretKey()
  private decrypt?: Cipheriv
  private encrypt?: Cipheriv
  private rx: Uint8Array[] = []
  private rxEncrypted = false
  private readonly reports = new ReportQueue()
  private upload = new Uint8Array()
  private signed?: Uint8Array
  private signing?: { polls: number; result: Uint8Array | 'refused' }

  constructor(opts: ColdcardEmulatorOptions) {
    this.root = HDKey.fromMasterSeed(opts.seed)
    this.chain = opts.chain ?? 'XRT'
    this.version = opts.version ?? '5.4.0'
    this.user = opts.user ?? (() => true)
    this.busy = opts.busy ?? false
    this.signWrongDigest = opts.signWrongDigest ?? false
  }

  get fingerprint(): string {
    return bytesToHex(ripemd160(sha256(this.root.publicKey!)).subarray(0, 4))
  }

  private network() {
    return this.chain === 'BTC'
      ? networks.bitcoin
      : this.chain === 'XRT'
        ? networks.regtest
        : networks.testnet
  }

  private xpubAt(path: string): string {
    const node = this.root.derive(path.replace(/h/g, "'"))
    const versions =
      this.chain === 'BTC'
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

  // ---- HID reports ----

  /** The host writes one 64-byte report (without the report-ID byte). */
  write(report: Uint8Array): void {
    if (report.length !== 64) throw new Error('a Coldcard report is 64 bytes')
    const flag = report[0]!
    const len = flag & 0x3f
    if (len === 0 && flag & 0x80) {
      // Resync: drop whatever was half-received.
      this.rx = []
      return
    }
    this.rx.push(report.slice(1, 1 + len))
    this.rxEncrypted = (flag & 0x40) !== 0
    if (!(flag & 0x80)) return
    const msg = concatBytes(...this.rx)
    this.rx = []
    this.respond(msg, this.rxEncrypted)
  }

  /** The host reads one 64-byte report. */
  read(): Promise<Uint8Array> {
    return this.reports.read()
  }

  private push(report: Uint8Array) {
    this.reports.push(report)
  }

  private respond(raw: Uint8Array, encrypted: boolean) {
    let response: Uint8Array
    let msg = raw
    try {
      if (encrypted) {
        if (!this.decrypt) throw fail('fram', 'no encryption set up')
        msg = Uint8Array.from(this.decrypt.update(raw))
      } else if (this.decrypt && !new TextDecoder().decode(raw.subarray(0, 4)).startsWith('ncry'))
        this.plaintextCommands.push(new TextDecoder().decode(raw.subarray(0, 4)))
      response = this.command(msg, encrypted)
    } catch (err) {
      if (!(err instanceof Failure)) throw err
      response = err.response
    }
    const out =
      encrypted && this.encrypt ? Uint8Array.from(this.encrypt.update(response)) : response
    for (let at = 0; at === 0 || at < out.length; at += 63) {
      const here = out.subarray(at, at + 63)
      const r = new Uint8Array(64)
      const last = at + 63 >= out.length
      r[0] = here.length | (last ? 0x80 : 0) | (encrypted && this.encrypt ? 0x40 : 0)
      r.set(here, 1)
      this.push(r)
      if (last) break
    }
  }

  // ---- commands ----

  private command(msg: Uint8Array, encrypted: boolean): Uint8Array {
    const cmd = new TextDecoder().decode(msg.subarray(0, 4))
    const body = msg.subarray(4)
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength)
    const okay = utf8ToBytes('okay')
    const asci = (s: string) => concatBytes(utf8ToBytes('asci'), utf8ToBytes(s))
    if (this.busy) throw fail('busy')
    if (cmd === 'ncry') return this.startEncryption(body)
    if (!encrypted && cmd !== 'vers' && cmd !== 'blkc') throw fail('err_', 'Encryption required') // this emulator insists, as v2 does
    switch (cmd) {
      case 'vers':
        return asci(['2024-10-01', this.version, '3.2.0', 'mk4', 'Flash Box emulator'].join('\n'))
      case 'blkc':
        return asci(this.chain)
      case 'mitm': {
        const sig = secp256k1.sign(this.sessionKey!, this.root.privateKey!, {
          prehash: false,
          lowS: true,
          format: 'recovered',
        })
        // Header byte (27 + recovery + 4 for compressed), then r‖s.
        return concatBytes(utf8ToBytes('biny'), Uint8Array.of(31 + sig[0]!), sig.subarray(1))
      }
      case 'xpub': {
        const path = new TextDecoder().decode(body)
        if (!/^m(\/\d+['h]?)*$/.test(path)) throw fail('err_', 'Bad path')
        return asci(this.xpubAt(path))
      }
      case 'upld': {
        const offset = dv.getUint32(0, true)
        const total = dv.getUint32(4, true)
        const data = body.subarray(8)
        if (offset === 0) this.upload = new Uint8Array(total)
        if (total !== this.upload.length || offset + data.length > total)
          throw fail('err_', 'Bad upload')
        this.upload.set(data, offset)
        return concatBytes(utf8ToBytes('int1'), u32le(offset))
      }
      case 'sha2':
        return concatBytes(utf8ToBytes('biny'), sha256(this.upload))
      case 'dwld': {
        const offset = dv.getUint32(0, true)
        const length = dv.getUint32(4, true)
        const file = dv.getUint32(8, true)
        const src = file === 1 ? this.signed : this.upload
        if (!src) throw fail('err_', 'No file')
        return concatBytes(utf8ToBytes('biny'), src.subarray(offset, offset + length))
      }
      case 'enrl':
        this.enroll(dv.getUint32(0, true), body.subarray(4, 36))
        return okay
      case 'msck': {
        const [m, n, xor] = [0, 4, 8].map((o) => dv.getUint32(o, true))
        const count = this.enrolled.filter(
          (w) =>
            w.m === m &&
            w.keys.length === n &&
            w.keys.reduce((x, k) => (x ^ xfpNumber(k.xfp)) >>> 0, 0) === xor,
        ).length
        return concatBytes(utf8ToBytes('int1'), u32le(count))
      }
      case 'p2sh':
        return asci(this.showMultisig(body, dv))
      case 'show': {
        const fmt = dv.getUint32(0, true)
        const path = new TextDecoder().decode(body.subarray(4))
        if (fmt !== 0x07) throw fail('err_', 'Unsupported address format')
        const node = this.root.derive(path.replace(/h/g, "'"))
        const address = payments.p2wpkh({
          pubkey: node.publicKey!,
          network: this.network(),
        }).address!
        this.screens.push({ kind: 'address', address })
        return asci(address)
      }
      case 'stxn': {
        const length = dv.getUint32(0, true)
        const flags = dv.getUint32(4, true)
        if (
          length !== this.upload.length ||
          bytesToHex(sha256(this.upload)) !== bytesToHex(body.subarray(8, 40))
        )
          throw fail('err_', 'Wrong checksum')
        if (flags !== 0) throw fail('err_', 'Flags not supported by this emulator')
        this.signing = { polls: 0, result: this.sign(this.upload) }
        return okay
      }
      case 'stok': {
        const s = this.signing
        if (!s) throw fail('err_', 'Nothing to sign')
        // The owner takes a moment: the first poll finds it still waiting.
        if (s.polls++ === 0) return okay
        this.signing = undefined
        if (s.result === 'refused') throw fail('refu')
        this.signed = s.result
        return concatBytes(utf8ToBytes('strx'), u32le(s.result.length), sha256(s.result))
      }
      default:
        throw fail('err_', `Unknown cmd: ${cmd}`)
    }
  }

  private sessionKey?: Uint8Array

  private startEncryption(body: Uint8Array): Uint8Array {
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength)
    if (body.length !== 68 || dv.getUint32(0, true) !== 1) throw fail('err_', 'Bad ncry')
    const host = concatBytes(Uint8Array.of(4), body.subarray(4))
    const shared = secp256k1.getSharedSecret(this.devKey, host, false).subarray(1)
    this.sessionKey = sha256(shared)
    const iv = new Uint8Array(16)
    this.decrypt = createCipheriv('aes-256-ctr', this.sessionKey, iv)
    this.encrypt = createCipheriv('aes-256-ctr', this.sessionKey, iv)
    const devPub = secp256k1.getPublicKey(this.devKey, false).subarray(1)
    const xpub = utf8ToBytes(this.xpubAt('m'))
    return concatBytes(
      utf8ToBytes('mypb'),
      devPub,
      Uint8Array.from(ripemd160(sha256(this.root.publicKey!)).subarray(0, 4)),
      u32le(xpub.length),
      xpub,
    )
  }

  /** Parses Coldcard's multisig setup file (the format vault-exports.ts writes). */
  private enroll(length: number, sha: Uint8Array): void {
    if (length !== this.upload.length || bytesToHex(sha256(this.upload)) !== bytesToHex(sha))
      throw fail('err_', 'Wrong checksum')
    const text = new TextDecoder().decode(this.upload)
    let name = ''
    let m = 0
    let n = 0
    let format = ''
    let derivation = ''
    const keys: Enrolled['keys'] = []
    for (const raw of text.split('\n')) {
      const line = raw.trim()
      if (!line || line.startsWith('#')) continue
      const [k, ...rest] = line.split(':')
      const v = rest.join(':').trim()
      const key = k!.trim()
      if (key === 'Name') name = v
      else if (key === 'Policy') [m, n] = v.split(' of ').map(Number) as [number, number]
      else if (key === 'Format') format = v
      else if (key === 'Derivation') derivation = v
      else if (/^[0-9A-Fa-f]{8}$/.test(key)) {
        const versions =
          this.chain === 'BTC'
            ? { public: 0x0488b21e, private: 0x0488ade4 }
            : { public: 0x043587cf, private: 0x04358394 }
        const path = derivation
          .split('/')
          .slice(1)
          .map((s) => (/['h]$/.test(s) ? Number(s.slice(0, -1)) + HARDENED : Number(s)))
        keys.push({ xfp: key.toLowerCase(), path, node: HDKey.fromExtendedKey(v, versions) })
      }
    }
    if (format !== 'P2WSH' || !name || keys.length !== n || m < 1 || m > n)
      throw fail('err_', 'Bad multisig file')
    const mine = keys.find((k) => k.xfp === this.fingerprint)
    if (!mine || this.xpubAt(this.formatPath(mine.path)) !== mine.node.publicExtendedKey)
      throw fail('err_', 'My key not included')
    const screen: ColdcardScreen = { kind: 'enroll', name, m, n }
    this.screens.push(screen)
    if (this.user(screen)) this.enrolled.push({ name, m, keys })
  }

  private formatPath(path: number[]): string {
    return ['m', ...path.map((i) => (i >= HARDENED ? `${i - HARDENED}'` : String(i)))].join('/')
  }

  /** The enrolled wallet whose keys at (chain, index) make `witnessScript`, if any. */
  private walletFor(witnessScript: Uint8Array) {
    let ms: payments.Payment
    try {
      ms = payments.p2ms({ output: witnessScript })
    } catch {
      return undefined
    }
    for (const w of this.enrolled) {
      if (w.m !== ms.m || w.keys.length !== ms.n) continue
      for (const chain of [0, 1])
        for (let index = 0; index <= 100; index++) {
          const keys = w.keys.map((k) => k.node.deriveChild(chain).deriveChild(index).publicKey!)
          if (keys.every((k) => ms.pubkeys!.some((p) => bytesToHex(p) === bytesToHex(k))))
            return { wallet: w, chain, index }
        }
    }
    return undefined
  }

  private showMultisig(body: Uint8Array, dv: DataView): string {
    const fmt = dv.getUint32(0, true)
    const m = body[4]!
    const n = body[5]!
    const scriptLen = dv.getUint16(6, true)
    const script = body.subarray(8, 8 + scriptLen)
    let at = 8 + scriptLen
    const paths: number[][] = []
    for (let i = 0; i < n; i++) {
      const ln = body[at++]!
      const p: number[] = []
      for (let j = 0; j < ln; j++, at += 4) p.push(dv.getUint32(at, true))
      paths.push(p)
    }
    if (fmt !== 0x0e) throw fail('err_', 'Unsupported address format')
    const found = this.walletFor(script)
    if (!found || found.wallet.m !== m) throw fail('err_', 'Multisig wallet not found')
    // The key paths given must name this wallet's keys at that address.
    const ms = payments.p2ms({ output: script })
    for (let i = 0; i < n; i++) {
      const [xfp, ...path] = paths[i]!
      const k = found.wallet.keys.find((key) => bytesToHex(u32le(xfp!)) === key.xfp)
      if (!k || path.length !== k.path.length + 2) throw fail('err_', 'Bad key path')
      const child = k.node.deriveChild(path.at(-2)!).deriveChild(path.at(-1)!)
      if (bytesToHex(child.publicKey!) !== bytesToHex(ms.pubkeys![i]!))
        throw fail('err_', 'Key path does not match script')
    }
    const address = payments.p2wsh({ redeem: { output: script }, network: this.network() }).address!
    this.screens.push({ kind: 'address', address })
    return address
  }

  private sign(raw: Uint8Array): Uint8Array | 'refused' {
    let psbt: Psbt
    try {
      psbt = Psbt.fromBuffer(raw, { network: this.network() })
    } catch {
      throw fail('err_', 'PSBT parse failed')
    }
    const shown: { address: string; amount: bigint }[] = []
    let totalIn = 0n
    const toSign: { i: number; node: HDKey }[] = []
    psbt.data.inputs.forEach((input, i) => {
      const value = spentValue(psbt, i)
      if (value === undefined) throw fail('err_', `Missing or wrong UTXO for input ${i}`)
      totalIn += value
      if (!input.witnessScript) return
      const found = this.walletFor(input.witnessScript)
      const mine = (input.bip32Derivation ?? []).find(
        (d) => bytesToHex(d.masterFingerprint) === this.fingerprint,
      )
      if (!mine) return
      if (!found) throw fail('err_', 'Unknown multisig wallet: enroll it first')
      const node = this.root.derive(mine.path)
      if (bytesToHex(node.publicKey!) !== bytesToHex(mine.pubkey))
        throw fail('err_', 'Wrong key for path')
      toSign.push({ i, node })
    })
    let totalOut = 0n
    psbt.txOutputs.forEach((o, i) => {
      totalOut += o.value
      const ws = psbt.data.outputs[i]!.witnessScript
      const change = ws && this.walletFor(ws)?.chain === 1
      if (!change)
        shown.push({
          address: baddress.fromOutputScript(o.script, this.network()),
          amount: o.value,
        })
    })
    if (toSign.length === 0) throw fail('err_', 'Nothing to sign')
    const screen: ColdcardScreen = { kind: 'sign', outputs: shown, fee: totalIn - totalOut }
    this.screens.push(screen)
    if (!this.user(screen)) return 'refused'
    signInputs(psbt, toSign, (hash) => (this.signWrongDigest ? sha256(hash) : hash))
    return psbt.toBuffer()
  }

  /** A host-side HID link for the driver: 64-byte reports in and out. */
  link() {
    return {
      write: async (report: Uint8Array) => this.write(report),
      read: () => this.read(),
      close: async () => {},
    }
  }
}
