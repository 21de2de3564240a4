// SIMULATOR: a Trezor at its USB packet boundary (test-only). It speaks protocol v1 as the
// firmware does over WebUSB — 64-byte packets, `?##` + type + length on the first, `?` on the
// rest (framing written here from the protocol description, not shared with the driver) — and
// Trezor's protobuf messages (@trezor/protobuf's schema): Initialize → Features, GetPublicKey,
// GetAddress (multisig, show_display), SignTx with the TxRequest/TxAck exchange including the
// previous transactions of every input, ButtonRequest/ButtonAck, PinMatrixRequest when locked,
// Cancel, Failure. It holds a real BIP32 seed and signs for real (BIP143, low S, DER).
//
// What it checks as the firmware does: each previous transaction hashes to the input's prev_hash
// and pays the stated amount; the multisig description of an input derives the script the
// previous output pays; its own key is in that multisig; inputs do not change between the
// phases. Change outputs (address_n + multisig whose script is the vault's) are not shown; every
// other output and the total are "shown" (recorded in `screen`) and confirmed.
// Not modelled: Trezor's path safety checks, coinjoin, payment requests, non-segwit inputs,
// THP (the Safe 7's encrypted host protocol), the Model One's HID framing.
import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { decodeMessage, encodeMessage, parseConfigure } from '@trezor/protobuf'
import definitions from '@trezor/protobuf/messages.json' with { type: 'json' }
import {
  address,
  networks,
  payments,
  script as bscript,
  Transaction,
  type Network,
} from 'bitcoinjs-lib'

const schema = parseConfigure(definitions as Parameters<typeof parseConfigure>[0])

type Msg = Record<string, unknown>
type Out = { name: string; data: Msg }

export interface TrezorEmulatorOptions {
  words: string
  /** Features.model: '1', 'T', 'Safe 3' … */
  model?: string
  firmware?: [number, number, number]
  /** A PIN is set and not entered yet: key requests get PinMatrixRequest. */
  locked?: boolean
  label?: string
  /** Old firmware: PublicKey without root_fingerprint. */
  noRootFingerprint?: boolean
}

const HARDENED = 0x80000000

function fingerprintOf(pub: Uint8Array): number {
  const h = ripemd160(sha256(pub))
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
}

function networkOf(coin: unknown): Network {
  return coin === 'Bitcoin' || coin === undefined || coin === null
    ? networks.bitcoin
    : coin === 'Regtest'
      ? networks.regtest
      : networks.testnet
}

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export class TrezorEmulator {
  private readonly root: HDKey
  readonly fingerprint: string
  /** What the device's screen showed, in order ("address …", "output …", "total …"). */
  readonly screen: string[] = []
  /** Messages received, by name. */
  readonly received: string[] = []
  /** The user declines the next confirmation on the device. */
  declineNext = false
  /** The cable is pulled after this many more messages have been answered. */
  unplugAfter: number | undefined
  private unplugged = false
  private incoming: Uint8Array | undefined
  private expected = 0
  private readonly outbox: Uint8Array[] = []
  private flow: Generator<Out, Out, Msg> | undefined
  private pendingConfirm: (() => Out) | undefined

  constructor(private readonly opts: TrezorEmulatorOptions) {
    this.root = HDKey.fromMasterSeed(mnemonicToSeedSync(opts.words))
    this.fingerprint = fingerprintOf(this.root.publicKey!).toString(16).padStart(8, '0')
  }

  unlock(): void {
    this.opts.locked = false
  }

  /** The packet-level link the driver's TrezorLink is (as USB would be). */
  link() {
    return {
      write: async (packet: Uint8Array) => this.write(packet),
      read: async () => this.read(),
      close: async () => undefined,
    }
  }

  private write(packet: Uint8Array): void {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE')
    if (packet.length !== 64)
      throw new Error(`a USB packet to a Trezor is 64 bytes, got ${packet.length}`)
    if (packet[0] !== 0x3f) throw new Error('packet without the ? marker')
    if (!this.incoming) {
      if (packet[1] !== 0x23 || packet[2] !== 0x23) throw new Error('first packet without ?##')
      const type = (packet[3]! << 8) | packet[4]!
      const length = new DataView(packet.buffer, packet.byteOffset).getUint32(5)
      this.incoming = new Uint8Array(length)
      this.expected = type
      const take = Math.min(length, 55)
      this.incoming.set(packet.subarray(9, 9 + take))
      ;(this.incoming as Uint8Array & { have?: number }).have = take
    } else {
      const buf = this.incoming as Uint8Array & { have: number }
      const take = Math.min(buf.length - buf.have, 63)
      buf.set(packet.subarray(1, 1 + take), buf.have)
      buf.have += take
    }
    const buf = this.incoming as Uint8Array & { have: number }
    if (buf.have < buf.length) return
    this.incoming = undefined
    const decoded = decodeMessage(schema, this.expected, Buffer.from(buf))
    this.received.push(decoded.type)
    const answer = this.handle(decoded.type, decoded.message as Msg)
    this.send(answer)
    if (this.unplugAfter !== undefined && --this.unplugAfter <= 0) {
      this.unplugged = true
      this.outbox.length = 0
    }
  }

  private read(): Uint8Array {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE')
    const p = this.outbox.shift()
    if (!p) throw new Error('LIBUSB_ERROR_TIMEOUT: the emulator has nothing to send')
    return p
  }

  private send({ name, data }: Out): void {
    const { messageType, message } = encodeMessage(schema, name, data)
    const whole = new Uint8Array(9 + message.length)
    whole.set([0x3f, 0x23, 0x23, messageType >> 8, messageType & 0xff])
    new DataView(whole.buffer).setUint32(5, message.length)
    whole.set(message, 9)
    const first = new Uint8Array(64)
    first.set(whole.subarray(0, 64))
    this.outbox.push(first)
    for (let at = 64; at < whole.length; at += 63) {
      const p = new Uint8Array(64)
      p[0] = 0x3f
      p.set(whole.subarray(at, at + 63), 1)
      this.outbox.push(p)
    }
  }

  private failure(code: string, message: string): Out {
    this.flow = undefined
    this.pendingConfirm = undefined
    return { name: 'Failure', data: { code, message } }
  }

  /** A screen the user confirms: ButtonRequest now, `then` after ButtonAck (or a refusal). */
  private confirm(code: string, then: () => Out): Out {
    this.pendingConfirm = then
    return { name: 'ButtonRequest', data: { code } }
  }

  private handle(type: string, m: Msg): Out {
    try {
      return this.dispatch(type, m)
    } catch (err) {
      if (err instanceof Refusal) return this.failure(err.code, err.message)
      throw err
    }
  }

  private dispatch(type: string, m: Msg): Out {
    if (type === 'Initialize' || type === 'GetFeatures') {
      this.flow = undefined
      return { name: 'Features', data: this.features() }
    }
    if (type === 'Cancel') return this.failure('Failure_ActionCancelled', 'Cancelled')
    if (type === 'ButtonAck') {
      const then = this.pendingConfirm
      if (!then) return this.failure('Failure_UnexpectedMessage', 'Unexpected message')
      this.pendingConfirm = undefined
      if (this.declineNext) {
        this.declineNext = false
        return this.failure('Failure_ActionCancelled', 'Cancelled')
      }
      return then()
    }
    if (this.opts.locked && ['GetPublicKey', 'GetAddress', 'SignTx'].includes(type))
      return { name: 'PinMatrixRequest', data: { type: 'PinMatrixRequestType_Current' } }
    if (type === 'GetPublicKey') return this.publicKey(m)
    if (type === 'GetAddress') return this.getAddress(m)
    if (type === 'SignTx') {
      this.flow = this.signFlow(m)
      return this.step({})
    }
    if (type === 'TxAck') {
      if (!this.flow) return this.failure('Failure_UnexpectedMessage', 'Unexpected message')
      return this.step(m)
    }
    return this.failure('Failure_UnexpectedMessage', 'Unexpected message')
  }

  private step(ack: Msg): Out {
    const r = this.flow!.next(ack)
    if (r.done) this.flow = undefined
    const out = r.value
    if (out.name === 'ButtonRequest') {
      // The flow goes on after the user confirms on the device.
      const data = out.data
      return this.confirm(String(data.code), () => this.step({}))
    }
    return out
  }

  private features(): Msg {
    const [major, minor, patch] = this.opts.firmware ?? [2, 8, 7]
    return {
      vendor: 'trezor.io',
      major_version: major,
      minor_version: minor,
      patch_version: patch,
      device_id: this.fingerprint.toUpperCase().repeat(3),
      pin_protection: this.opts.locked !== undefined,
      passphrase_protection: false,
      initialized: true,
      unlocked: !this.opts.locked,
      bootloader_mode: false,
      label: this.opts.label ?? 'My Trezor',
      model: this.opts.model ?? 'T',
    }
  }

  private derive(addressN: unknown): HDKey {
    let k = this.root
    for (const i of (addressN as number[] | undefined) ?? []) k = k.deriveChild(i >>> 0)
    return k
  }

  private publicKey(m: Msg): Out {
    const k = this.derive(m.address_n)
    const testnet = m.coin_name === 'Testnet' || m.coin_name === 'Regtest'
    const versions = testnet
      ? { public: 0x043587cf, private: 0x04358394 }
      : { public: 0x0488b21e, private: 0x0488ade4 }
    const pub = new HDKey({
      versions,
      depth: k.depth,
      index: k.index,
      parentFingerprint: k.parentFingerprint,
      chainCode: k.chainCode!,
      publicKey: k.publicKey!,
    })
    return {
      name: 'PublicKey',
      data: {
        node: {
          depth: k.depth,
          fingerprint: k.parentFingerprint,
          child_num: k.index,
          chain_code: bytesToHex(k.chainCode!),
          public_key: bytesToHex(k.publicKey!),
        },
        xpub: pub.publicExtendedKey,
        ...(this.opts.noRootFingerprint
          ? {}
          : { root_fingerprint: parseInt(this.fingerprint, 16) }),
      },
    }
  }

  /** Public keys of a MultisigRedeemScriptType, in the order given (PRESERVED). */
  private multisigKeys(multisig: Msg): Uint8Array[] {
    const pubkeys = (multisig.pubkeys as { node: Msg; address_n: number[] }[] | undefined) ?? []
    return pubkeys.map(({ node, address_n }) => {
      if (address_n.length === 0) return hexToBytes(String(node.public_key))
      let k = new HDKey({
        chainCode: hexToBytes(String(node.chain_code)),
        publicKey: hexToBytes(String(node.public_key)),
        depth: Number(node.depth),
        index: Number(node.child_num) >>> 0,
        parentFingerprint: Number(node.fingerprint) >>> 0,
      })
      for (const i of address_n) {
        if (i >= HARDENED)
          throw new Refusal('Failure_DataError', 'Hardened derivation of a public node')
        k = k.deriveChild(i)
      }
      return k.publicKey!
    })
  }

  /** The P2WSH of a multisig description, with its own key checked to be in it. */
  private multisigScript(addressN: unknown, multisig: Msg | undefined, network: Network) {
    if (!multisig) throw new Refusal('Failure_DataError', 'Multisig field not provided')
    const keys = this.multisigKeys(multisig)
    const m = Number(multisig.m)
    if (!(m >= 1 && m <= keys.length && keys.length <= 15))
      throw new Refusal('Failure_DataError', 'Invalid multisig parameters')
    const own = this.derive(addressN).publicKey!
    if (!keys.some((k) => bytesToHex(k) === bytesToHex(own)))
      throw new Refusal('Failure_DataError', 'Pubkey not found in multisig script')
    const redeem = payments.p2ms({ m, pubkeys: keys, network })
    const p2wsh = payments.p2wsh({ redeem, network })
    return { witnessScript: redeem.output!, script: p2wsh.output!, address: p2wsh.address! }
  }

  private getAddress(m: Msg): Out {
    const network = networkOf(m.coin_name)
    if (m.script_type !== 'SPENDWITNESS' || !m.multisig)
      throw new Refusal('Failure_DataError', 'This emulator derives P2WSH multisig addresses only')
    const { address: addr } = this.multisigScript(m.address_n, m.multisig as Msg, network)
    const answer: Out = { name: 'Address', data: { address: addr } }
    if (!m.show_display) return answer
    this.screen.push(`address ${addr}`)
    return this.confirm('ButtonRequest_Address', () => answer)
  }

  private txRequest(
    type: string,
    index?: number,
    txHash?: string,
    sig?: [number, Uint8Array],
  ): Out {
    return {
      name: 'TxRequest',
      data: {
        request_type: type,
        ...(index !== undefined || txHash
          ? { details: { request_index: index ?? 0, ...(txHash ? { tx_hash: txHash } : {}) } }
          : {}),
        ...(sig ? { serialized: { signature_index: sig[0], signature: bytesToHex(sig[1]) } } : {}),
      },
    }
  }

  private *signFlow(signTx: Msg): Generator<Out, Out, Msg> {
    const network = networkOf(signTx.coin_name)
    const nIn = Number(signTx.inputs_count)
    const nOut = Number(signTx.outputs_count)
    if (!(nIn >= 1 && nOut >= 1))
      throw new Refusal('Failure_DataError', 'Transaction has no inputs or outputs')
    const tx = new Transaction()
    tx.version = Number(signTx.version ?? 1)
    tx.locktime = Number(signTx.lock_time ?? 0)
    const inputs: { input: Msg; witnessScript: Uint8Array; amount: bigint }[] = []
    const txOf = (ack: Msg) => (ack.tx ?? {}) as Msg
    let total = 0n
    for (let i = 0; i < nIn; i++) {
      const input = (txOf(yield this.txRequest('TXINPUT', i)).inputs as Msg[] | undefined)?.[0]
      if (!input) throw new Refusal('Failure_DataError', 'Expected an input')
      if (input.script_type !== 'SPENDWITNESS')
        throw new Refusal('Failure_DataError', 'This emulator signs native segwit inputs only')
      const prevHash = String(input.prev_hash)
      // The previous transaction, piece by piece, hashed as the firmware does.
      const meta = txOf(yield this.txRequest('TXMETA', 0, prevHash))
      const prev = new Transaction()
      prev.version = Number(meta.version)
      prev.locktime = Number(meta.lock_time ?? 0)
      for (let j = 0; j < Number(meta.inputs_cnt); j++) {
        const pi = (txOf(yield this.txRequest('TXINPUT', j, prevHash)).inputs as Msg[])[0]!
        prev.addInput(
          hexToBytes(String(pi.prev_hash)).reverse(),
          Number(pi.prev_index),
          Number(pi.sequence ?? 0xffffffff),
          hexToBytes(String(pi.script_sig ?? '')),
        )
      }
      for (let k = 0; k < Number(meta.outputs_cnt); k++) {
        const po = (txOf(yield this.txRequest('TXOUTPUT', k, prevHash)).bin_outputs as Msg[])[0]!
        prev.addOutput(hexToBytes(String(po.script_pubkey)), BigInt(String(po.amount)))
      }
      if (prev.getId() !== prevHash)
        throw new Refusal('Failure_DataError', 'Encountered invalid prevhash')
      const spent = prev.outs[Number(input.prev_index)]
      const amount = BigInt(String(input.amount))
      if (!spent || spent.value !== amount)
        throw new Refusal('Failure_DataError', 'Invalid amount specified')
      const own = this.multisigScript(input.address_n, input.multisig as Msg, network)
      if (bytesToHex(own.script) !== bytesToHex(spent.script))
        throw new Refusal('Failure_DataError', 'Input does not match scriptPubKey')
      tx.addInput(
        hexToBytes(prevHash).reverse(),
        Number(input.prev_index),
        Number(input.sequence ?? 0xffffffff),
      )
      inputs.push({ input, witnessScript: own.witnessScript, amount })
      total += amount
    }
    let spent = 0n
    for (let o = 0; o < nOut; o++) {
      const out = (txOf(yield this.txRequest('TXOUTPUT', o)).outputs as Msg[] | undefined)?.[0]
      if (!out) throw new Refusal('Failure_DataError', 'Expected an output')
      const amount = BigInt(String(out.amount))
      let script: Uint8Array
      let change = false
      if (out.script_type === 'PAYTOWITNESS' && out.multisig) {
        script = this.multisigScript(out.address_n, out.multisig as Msg, network).script
        change = true
      } else if (out.script_type === 'PAYTOOPRETURN') {
        script = bscript.compile([bscript.OPS.OP_RETURN!, hexToBytes(String(out.op_return_data))])
      } else {
        if (typeof out.address !== 'string')
          throw new Refusal('Failure_DataError', 'Missing address')
        try {
          script = address.toOutputScript(out.address, network)
        } catch {
          throw new Refusal('Failure_DataError', 'Invalid address')
        }
      }
      tx.addOutput(script, amount)
      spent += amount
      if (!change) {
        this.screen.push(`output ${String(out.address ?? 'OP_RETURN')} ${amount}`)
        yield { name: 'ButtonRequest', data: { code: 'ButtonRequest_ConfirmOutput' } }
      }
    }
    if (spent > total) throw new Refusal('Failure_NotEnoughFunds', 'Not enough funds')
    this.screen.push(`total ${total - spent} fee`)
    yield { name: 'ButtonRequest', data: { code: 'ButtonRequest_SignTx' } }
    // Second phase: each input again (it must not have changed), then its signature.
    let sig: [number, Uint8Array] | undefined
    for (let i = 0; i < nIn; i++) {
      const again = (txOf(yield this.txRequest('TXINPUT', i, undefined, sig)).inputs as Msg[])[0]!
      const first = inputs[i]!.input
      if (
        again.prev_hash !== first.prev_hash ||
        Number(again.prev_index) !== Number(first.prev_index) ||
        String(again.amount) !== String(first.amount)
      )
        throw new Refusal('Failure_ProcessError', 'Transaction has changed during signing')
      const key = this.derive(again.address_n)
      const digest = tx.hashForWitnessV0(
        i,
        inputs[i]!.witnessScript,
        inputs[i]!.amount,
        Transaction.SIGHASH_ALL,
      )
      const signature = secp256k1.sign(digest, key.privateKey!, {
        prehash: false,
        lowS: true,
        format: 'der',
      })
      sig = [i, signature]
    }
    return this.txRequest('TXFINISHED', undefined, undefined, sig)
  }
}
