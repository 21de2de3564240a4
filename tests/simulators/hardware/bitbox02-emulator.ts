// SIMULATOR: a paired BitBox02 at the bitbox-api boundary (test-only): the `PairedBitBox` methods
// Flash Box calls, with the firmware's rules for a multisig as BitBox documents them — the
// multisig must be registered (the user confirms its keys and name on the device) before an
// address is shown or a PSBT is signed; the device's own xpub must be the one at `ourXpubIndex`
// and derive from its seed at the given account keypath; keys are sorted (BIP67); each input's
// witness script must be the registered multisig's at the input's /chain/index. It holds a real
// BIP32 seed and signs for real (BIP143 through bitcoinjs-lib's PSBT signer, low S).
// Errors are thrown as bitbox-api throws them: `{ code, message }` objects, with the library's
// own user-abort code, so the driver's use of `isUserAbort` / `ensureError` is the real library's.
// Not modelled: the Noise channel and protobuf below bitbox-api, the pairing code, Ethereum and
// Cardano, single-sig and policy configs, the BIP85 and backup workflows.
import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { address as baddress, networks, payments, Psbt, type Network } from 'bitcoinjs-lib'
import type { PairedBitBox } from '../../../src/core/hardware/bitbox02/bitbox02-signer'

type Coin = Parameters<PairedBitBox['btcXpub']>[0]
type ScriptConfig = Parameters<PairedBitBox['btcAddress']>[2]

const TPUB = { public: 0x043587cf, private: 0x04358394 }
const XPUB = { public: 0x0488b21e, private: 0x0488ade4 }

function networkOf(coin: Coin): Network {
  return coin === 'btc' ? networks.bitcoin : coin === 'rbtc' ? networks.regtest : networks.testnet
}

function keypathOf(k: string | number[]): number[] {
  if (Array.isArray(k)) return k
  const parts = k.split('/')
  if (parts[0] !== 'm') throw bitboxError('bitbox-invalid-input', 'invalid input')
  return parts.slice(1).map((p) => {
    const hardened = p.endsWith("'") || p.endsWith('h')
    const n = Number(hardened ? p.slice(0, -1) : p)
    if (!Number.isInteger(n) || n < 0) throw bitboxError('bitbox-invalid-input', 'invalid input')
    return hardened ? n + 0x80000000 : n
  })
}

function bitboxError(code: string, message: string): { code: string; message: string } {
  return { code, message }
}

export class BitBox02Emulator implements PairedBitBox {
  private readonly root: HDKey
  readonly fingerprint: string
  /** What the device's screen showed, in order. */
  readonly screen: string[] = []
  private readonly registrations = new Map<string, string>()
  /** The user declines the next confirmation on the device. */
  declineNext = false

  constructor(
    words: string,
    private readonly firmware = '9.21.0',
  ) {
    this.root = HDKey.fromMasterSeed(mnemonicToSeedSync(words))
    this.fingerprint = bytesToHex(ripemd160(sha256(this.root.publicKey!)).subarray(0, 4))
  }

  free(): void {}
  close(): void {}
  version(): string {
    return this.firmware
  }
  product(): 'bitbox02-btconly' {
    return 'bitbox02-btconly'
  }

  private confirm(what: string): void {
    this.screen.push(what)
    if (this.declineNext) {
      this.declineNext = false
      throw bitboxError('bitbox-user-abort', 'aborted by the user')
    }
  }

  private derive(path: number[]): HDKey {
    let k = this.root
    for (const i of path) k = k.deriveChild(i)
    return k
  }

  async rootFingerprint(): Promise<string> {
    return this.fingerprint
  }

  async btcXpub(
    coin: Coin,
    keypath: string | number[],
    xpubType: string,
    display: boolean,
  ): Promise<string> {
    const k = this.derive(keypathOf(keypath))
    if (xpubType !== 'tpub' && xpubType !== 'xpub')
      throw bitboxError('bitbox-invalid-input', 'invalid input')
    const xpub = new HDKey({
      versions: xpubType === 'tpub' ? TPUB : XPUB,
      depth: k.depth,
      index: k.index,
      parentFingerprint: k.parentFingerprint,
      chainCode: k.chainCode!,
      publicKey: k.publicKey!,
    }).publicExtendedKey
    if (display) this.confirm(`xpub ${xpub}`)
    void coin
    return xpub
  }

  private multisigOf(config: ScriptConfig) {
    if (!('multisig' in config)) throw bitboxError('bitbox-invalid-input', 'invalid input')
    const m = config.multisig
    if (m.scriptType !== 'p2wsh') throw bitboxError('bitbox-invalid-input', 'invalid input')
    if (!(m.threshold >= 1 && m.threshold <= m.xpubs.length && m.xpubs.length <= 15))
      throw bitboxError('bitbox-invalid-input', 'invalid input')
    return m
  }

  private registrationId(coin: Coin, config: ScriptConfig, keypath: string | number[]): string {
    const m = this.multisigOf(config)
    return JSON.stringify([coin, m.threshold, m.xpubs, m.ourXpubIndex, keypathOf(keypath)])
  }

  async btcIsScriptConfigRegistered(
    coin: Coin,
    config: ScriptConfig,
    keypath?: string | number[],
  ): Promise<boolean> {
    return this.registrations.has(this.registrationId(coin, config, keypath ?? []))
  }

  async btcRegisterScriptConfig(
    coin: Coin,
    config: ScriptConfig,
    keypath: string | number[] | undefined,
    _xpubType: string,
    name?: string,
  ): Promise<void> {
    const m = this.multisigOf(config)
    const path = keypathOf(keypath ?? [])
    const ours = this.derive(path)
    const claimed = HDKey.fromExtendedKey(m.xpubs[m.ourXpubIndex]!, coin === 'btc' ? XPUB : TPUB)
    if (bytesToHex(claimed.publicKey!) !== bytesToHex(ours.publicKey!))
      throw bitboxError('bitbox-invalid-input', 'invalid input')
    this.confirm(`register ${m.threshold}-of-${m.xpubs.length} “${name ?? ''}”`)
    this.registrations.set(this.registrationId(coin, config, path), name ?? '')
  }

  /** The multisig's witness script at /chain/index (keys sorted, BIP67). */
  private script(coin: Coin, config: ScriptConfig, chain: number, index: number) {
    const m = this.multisigOf(config)
    const versions = coin === 'btc' ? XPUB : TPUB
    const keys = m.xpubs
      .map(
        (x) => HDKey.fromExtendedKey(x, versions).deriveChild(chain).deriveChild(index).publicKey!,
      )
      .sort((a, b) => (bytesToHex(a) < bytesToHex(b) ? -1 : 1))
    const network = networkOf(coin)
    const redeem = payments.p2ms({ m: m.threshold, pubkeys: keys, network })
    return payments.p2wsh({ redeem, network })
  }

  private requireRegistered(coin: Coin, config: ScriptConfig, accountPath: number[]): void {
    if (!this.registrations.has(this.registrationId(coin, config, accountPath)))
      throw bitboxError('bitbox-invalid-input', 'multisig not registered')
  }

  async btcAddress(
    coin: Coin,
    keypath: string | number[],
    config: ScriptConfig,
    display: boolean,
  ): Promise<string> {
    const path = keypathOf(keypath)
    const account = path.slice(0, -2)
    this.requireRegistered(coin, config, account)
    const p2wsh = this.script(coin, config, path.at(-2)!, path.at(-1)!)
    if (display) this.confirm(`address ${p2wsh.address}`)
    return p2wsh.address!
  }

  async btcSignPSBT(
    coin: Coin,
    psbtBase64: string,
    force: { scriptConfig: ScriptConfig; keypath: string | number[] } | undefined,
    _unit: string,
  ): Promise<string> {
    if (!force) throw bitboxError('bitbox-invalid-input', 'multisig config must be provided')
    const account = keypathOf(force.keypath)
    this.requireRegistered(coin, force.scriptConfig, account)
    const network = networkOf(coin)
    let psbt: Psbt
    try {
      psbt = Psbt.fromBase64(psbtBase64, { network })
    } catch {
      throw bitboxError('psbt-parse', 'Could not parse the PSBT')
    }
    const fp = this.fingerprint
    const toSign: { i: number; key: HDKey }[] = []
    psbt.data.inputs.forEach((input, i) => {
      const own = input.bip32Derivation?.find((d) => bytesToHex(d.masterFingerprint) === fp)
      if (!own) throw bitboxError('bitbox-invalid-input', 'input without our keypath')
      const path = keypathOf(own.path)
      if (path.slice(0, -2).join('/') !== account.join('/'))
        throw bitboxError('bitbox-invalid-input', 'keypath outside the registered account')
      const expected = this.script(coin, force.scriptConfig, path.at(-2)!, path.at(-1)!)
      if (
        !input.witnessScript ||
        bytesToHex(input.witnessScript) !== bytesToHex(expected.redeem!.output!) ||
        !input.witnessUtxo ||
        bytesToHex(input.witnessUtxo.script) !== bytesToHex(expected.output!)
      )
        throw bitboxError('bitbox-invalid-input', 'input script does not match the multisig')
      toSign.push({ i, key: this.derive(path) })
    })
    let fee = psbt.data.inputs.reduce((s, input) => s + input.witnessUtxo!.value, 0n)
    psbt.txOutputs.forEach((o, i) => {
      fee -= o.value
      const own = psbt.data.outputs[i]!.bip32Derivation?.find(
        (d) => bytesToHex(d.masterFingerprint) === fp,
      )
      if (own) {
        const path = keypathOf(own.path)
        const change = this.script(coin, force.scriptConfig, path.at(-2)!, path.at(-1)!)
        if (bytesToHex(change.output!) === bytesToHex(o.script)) return
      }
      this.confirm(`output ${baddress.fromOutputScript(o.script, network)} ${o.value}`)
    })
    this.confirm(`fee ${fee}`)
    for (const { i, key } of toSign)
      psbt.signInput(i, {
        publicKey: key.publicKey!,
        sign: (hash: Uint8Array) =>
          secp256k1.sign(hash, key.privateKey!, { prehash: false, lowS: true }),
      })
    return psbt.toBase64()
  }
}
