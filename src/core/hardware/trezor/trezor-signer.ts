// A Trezor as a vault signer (signer.ts), spoken to in Trezor's own messages (trezor-wire.ts):
// - fingerprint and xpub: GetPublicKey at the BIP48 account path;
// - a shown address: GetAddress with show_display and the vault's multisig description, so the
//   Trezor derives the P2WSH address itself and shows it;
// - PSBT signing: the PSBT is turned into SignTx and the TxRequest/TxAck exchange (inputs with
//   their multisig description and amount, the previous transactions for each input, outputs with
//   change described as change), and the signatures the Trezor returns are put back into the PSBT
//   as BIP174 partial signatures after each one is verified.
// A fixed cosigner key (the HSM's) is given to the Trezor as a node with no chain code and an empty
// path: the Trezor derives nothing from it and uses the key as it is.
import { HDKey } from '@scure/bip32'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { address as baddress, Transaction, type Psbt } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { FlashError } from '../../errors'
import type { Cosigner, SignResult, VaultNetwork } from '../../../shared/api/hardware'
import {
  bitcoinNetwork,
  compareBytes,
  parsePath,
  vaultAddress,
  xpubVersions,
  type Vault,
} from '../multisig/vault'
import { checkPsbtBelongsToVault } from '../multisig/vault-psbt'
import { bip48Path } from '../seed-signer'
import type { Signer } from '../signer'
import { TrezorClient, type TrezorLink } from './trezor-wire'

/** Trezor's coin names: Regtest has its own (bcrt addresses); signet uses Testnet's. */
export function trezorCoin(network: VaultNetwork): string {
  return network === 'mainnet' ? 'Bitcoin' : network === 'regtest' ? 'Regtest' : 'Testnet'
}

export interface TrezorFeatures {
  model: string
  modelName: string
  version: [number, number, number]
  initialized: boolean
  unlocked: boolean
  bootloader: boolean
  label?: string
}

const MODEL_NAMES: Record<string, string> = {
  '1': 'Trezor Model One',
  T: 'Trezor Model T',
  T2B1: 'Trezor Safe 3',
  'Safe 3': 'Trezor Safe 3',
  T3B1: 'Trezor Safe 3',
  T3T1: 'Trezor Safe 5',
  'Safe 5': 'Trezor Safe 5',
}

/**
 * The oldest firmware Flash Box signs with: the first releases that report the root fingerprint
 * with a public key (PublicKey.root_fingerprint), which is how Flash Box tells which vault key a
 * Trezor holds. Older ones are asked to update, not guessed at.
 */
export const TREZOR_MIN_FIRMWARE: Record<'1' | 'other', [number, number, number]> = {
  '1': [1, 11, 1],
  other: [2, 5, 1],
}

export function firmwareTooOld(f: TrezorFeatures): string | undefined {
  const min = TREZOR_MIN_FIRMWARE[f.model === '1' ? '1' : 'other']
  for (let i = 0; i < 3; i++) {
    if (f.version[i]! > min[i]!) return undefined
    if (f.version[i]! < min[i]!)
      return `This ${f.modelName} runs firmware ${f.version.join('.')}; Flash Box needs ${min.join('.')} or newer. Update it in Trezor Suite, then plug it in here again.`
  }
  return undefined
}

type Node = {
  depth: number
  fingerprint: number
  child_num: number
  chain_code: string
  public_key: string
}

function nodeOf(m: Record<string, unknown>): Node {
  const n = m.node as Node | undefined
  if (!n || typeof n.public_key !== 'string' || typeof n.chain_code !== 'string')
    throw new FlashError(
      'trezor.protocol',
      'The Trezor answered a public key request without a key.',
      'Unplug the Trezor, plug it in again and retry.',
    )
  return n
}

/** The vault's keys at (chain, index) as Trezor's MultisigRedeemScriptType, in sortedmulti order. */
export function trezorMultisig(vault: Vault, chain: 0 | 1, index: number) {
  const at = vaultAddress(vault, chain, index)
  const pubkeys = vault.cosigners.map((c, i) => {
    if (c.kind === 'fixed')
      return {
        key: at.keys[i]!.publicKey,
        entry: {
          node: {
            depth: 0,
            fingerprint: 0,
            child_num: 0,
            chain_code: '00'.repeat(32),
            public_key: c.publicKey,
          },
          address_n: [],
        },
      }
    const hd = HDKey.fromExtendedKey(c.xpub, xpubVersions(vault.network))
    return {
      key: at.keys[i]!.publicKey,
      entry: {
        node: {
          depth: hd.depth,
          fingerprint: hd.parentFingerprint,
          child_num: hd.index,
          chain_code: bytesToHex(hd.chainCode!),
          public_key: bytesToHex(hd.publicKey!),
        },
        address_n: [chain, index],
      },
    }
  })
  pubkeys.sort((a, b) => compareBytes(a.key, b.key))
  return {
    at,
    multisig: {
      m: vault.threshold,
      pubkeys: pubkeys.map((p) => p.entry),
      signatures: pubkeys.map(() => ''),
    },
  }
}

const reversedHex = (hash: Uint8Array) => bytesToHex(Uint8Array.from(hash).reverse())

function chainIndex(path: string): [0 | 1, number] {
  const p = parsePath(path)
  const chain = p[p.length - 2]
  const index = p[p.length - 1]
  if ((chain !== 0 && chain !== 1) || index === undefined)
    throw new FlashError(
      'vault.foreign_psbt',
      'A key origin in this PSBT does not end in /0/n or /1/n, as vault addresses do.',
      'Open the PSBT that was made for this vault.',
    )
  return [chain, index]
}

export class TrezorSigner implements Signer {
  readonly kind = 'Trezor'
  private fp: string | undefined

  constructor(
    private readonly client: TrezorClient,
    private readonly network: VaultNetwork,
  ) {}

  static over(link: TrezorLink, network: VaultNetwork): TrezorSigner {
    return new TrezorSigner(new TrezorClient(link), network)
  }

  /** Initialize → Features: model, firmware, whether it is set up and unlocked. */
  async features(): Promise<TrezorFeatures> {
    const f = await this.client.expect('Initialize', {}, 'Features')
    const model = String(f.model ?? f.internal_model ?? '1')
    return {
      model,
      modelName: MODEL_NAMES[model] ?? `Trezor (${model})`,
      version: [Number(f.major_version), Number(f.minor_version), Number(f.patch_version)],
      initialized: f.initialized === true,
      // Features.unlocked is absent on old firmware: fall back to "PIN cached or no PIN".
      unlocked:
        typeof f.unlocked === 'boolean'
          ? f.unlocked
          : f.pin_protection !== true || f.pin_cached === true,
      bootloader: f.bootloader_mode === true,
      ...(typeof f.label === 'string' && f.label ? { label: f.label } : {}),
    }
  }

  private async publicKey(path: string, show = false) {
    const m = await this.client.expect(
      'GetPublicKey',
      {
        address_n: parsePath(path),
        coin_name: trezorCoin(this.network),
        script_type: 'SPENDWITNESS',
        show_display: show,
        ignore_xpub_magic: true,
      },
      'PublicKey',
    )
    return { node: nodeOf(m), root: m.root_fingerprint as number | undefined }
  }

  async fingerprint(): Promise<string> {
    if (this.fp) return this.fp
    const { root } = await this.publicKey(bip48Path(this.network))
    if (typeof root !== 'number')
      throw new FlashError(
        'trezor.firmware_too_old',
        'This Trezor does not say which wallet it holds (its firmware is too old).',
        'Update the Trezor’s firmware in Trezor Suite, then try again.',
      )
    this.fp = (root >>> 0).toString(16).padStart(8, '0')
    return this.fp
  }

  async cosigner(
    network: VaultNetwork,
    name: string,
    path = bip48Path(network),
  ): Promise<Cosigner> {
    const fingerprint = await this.fingerprint()
    const { node } = await this.publicKey(path)
    // The xpub is rebuilt from the node's fields with the network's version bytes, not taken
    // from the device's string, and checked against the key it claims to be.
    const hd = new HDKey({
      versions: xpubVersions(network),
      depth: node.depth,
      index: node.child_num >>> 0,
      parentFingerprint: node.fingerprint >>> 0,
      chainCode: hexToBytes(node.chain_code),
      publicKey: hexToBytes(node.public_key),
    })
    if (hd.depth !== parsePath(path).length)
      throw new FlashError(
        'trezor.protocol',
        'The Trezor answered with a key at another depth than the one asked for.',
        'Unplug the Trezor, plug it in again and retry.',
      )
    return { kind: 'xpub', name, fingerprint, path, xpub: hd.publicExtendedKey }
  }

  private async ownKey(vault: Vault) {
    const fp = await this.fingerprint()
    const own = vault.cosigners.find((c) => c.fingerprint === fp)
    if (!own || own.kind !== 'xpub')
      throw new FlashError(
        'signer.wrong_device',
        `This Trezor (wallet fingerprint ${fp}) holds none of the vault “${vault.name}”’s keys.`,
        'Plug in the Trezor that was used to make the vault (its fingerprint is on the recovery sheet), or check its passphrase.',
      )
    return own
  }

  async displayAddress(vault: Vault, chain: 0 | 1, index: number): Promise<string> {
    const own = await this.ownKey(vault)
    const { at, multisig } = trezorMultisig(vault, chain, index)
    const m = await this.client.expect(
      'GetAddress',
      {
        address_n: [...parsePath(own.path), chain, index],
        coin_name: trezorCoin(vault.network),
        show_display: true,
        multisig,
        script_type: 'SPENDWITNESS',
      },
      'Address',
    )
    if (m.address !== at.address)
      throw new FlashError(
        'signer.address_mismatch',
        `The Trezor derived ${String(m.address)}, but the vault’s address ${index} is ${at.address}. Do not use this address.`,
        'Check that the vault’s keys are right (the recovery sheet) and that this is the Trezor that made it.',
      )
    return at.address
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    const psbt = checkPsbtBelongsToVault(vault, psbtBase64)
    await this.ownKey(vault)
    const fp = await this.fingerprint()
    const network = bitcoinNetwork(vault.network)
    const prevs = new Map<string, Transaction>()
    const ourKeys: Uint8Array[] = []

    const inputs = psbt.data.inputs.map((input, i) => {
      const origin = input.bip32Derivation?.find((d) => bytesToHex(d.masterFingerprint) === fp)
      if (!origin)
        throw new FlashError(
          'signer.wrong_device',
          `Input ${i} has no key of this Trezor (fingerprint ${fp}).`,
          'Plug in the Trezor that holds one of the vault’s keys.',
        )
      if (!input.nonWitnessUtxo)
        throw new FlashError(
          'psbt.missing_previous_tx',
          `Input ${i} lacks its previous transaction, which a Trezor checks the amount against.`,
          'Make the PSBT again in Flash Box’s vault spend (it includes them).',
        )
      const prev = Transaction.fromBuffer(input.nonWitnessUtxo)
      const txIn = psbt.txInputs[i]!
      if (compareBytes(prev.getHash(), txIn.hash) !== 0)
        throw new FlashError(
          'psbt.bad_previous_tx',
          `The previous transaction given for input ${i} is not the one it spends.`,
          'Make the PSBT again; this one may have been altered.',
        )
      prevs.set(prev.getId(), prev)
      ourKeys.push(origin.pubkey)
      const [chain, index] = chainIndex(origin.path)
      return {
        address_n: parsePath(origin.path),
        prev_hash: reversedHex(txIn.hash),
        prev_index: txIn.index,
        sequence: txIn.sequence ?? 0xffffffff,
        script_type: 'SPENDWITNESS',
        multisig: trezorMultisig(vault, chain, index).multisig,
        amount: String(input.witnessUtxo!.value),
      }
    })

    const outputs = psbt.txOutputs.map((o, i) => {
      const data = psbt.data.outputs[i]!
      const origin = data.bip32Derivation?.find((d) => bytesToHex(d.masterFingerprint) === fp)
      if (origin) {
        const [chain, index] = chainIndex(origin.path)
        const described = trezorMultisig(vault, chain, index)
        // Change only if the script really is the vault's address at that origin; anything
        // else is shown on the Trezor as a payment.
        if (compareBytes(described.at.script, o.script) === 0)
          return {
            address_n: parsePath(origin.path),
            amount: String(o.value),
            script_type: 'PAYTOWITNESS',
            multisig: described.multisig,
          }
      }
      if (o.script[0] === 0x6a)
        return {
          amount: String(o.value),
          script_type: 'PAYTOOPRETURN',
          op_return_data: bytesToHex(o.script.subarray(2)),
        }
      return {
        address: baddress.fromOutputScript(o.script, network),
        amount: String(o.value),
        script_type: 'PAYTOADDRESS',
      }
    })

    const signatures = await this.signTx(psbt, inputs, outputs, prevs, vault.network)

    const signedInputs: number[] = []
    for (const [i, der] of signatures) {
      const pubkey = ourKeys[i]!
      if (psbt.data.inputs[i]!.partialSig?.some((s) => compareBytes(s.pubkey, pubkey) === 0))
        continue
      const signature = new Uint8Array(der.length + 1)
      signature.set(der)
      signature[der.length] = Transaction.SIGHASH_ALL
      psbt.updateInput(i, { partialSig: [{ pubkey, signature }] })
      const ok = psbt.validateSignaturesOfInput(
        i,
        (pk, h, sig) => ecc.verify(h, pk, sig, true),
        pubkey,
      )
      if (!ok)
        throw new FlashError(
          'psbt.bad_signature',
          `The Trezor’s signature for input ${i} does not verify. Nothing was kept.`,
          'Check that this is the right Trezor and try again; do not broadcast.',
        )
      signedInputs.push(i)
    }
    return {
      psbt: psbt.toBase64(),
      signedInputs: signedInputs.sort((a, b) => a - b),
      normalisedHighS: 0,
    }
  }

  /** SignTx, then answer each TxRequest until TXFINISHED; returns DER signatures by input. */
  private async signTx(
    psbt: Psbt,
    inputs: Record<string, unknown>[],
    outputs: Record<string, unknown>[],
    prevs: Map<string, Transaction>,
    network: VaultNetwork,
  ): Promise<Map<number, Uint8Array>> {
    const sigs = new Map<number, Uint8Array>()
    let answer = await this.client.call('SignTx', {
      inputs_count: inputs.length,
      outputs_count: outputs.length,
      coin_name: trezorCoin(network),
      version: psbt.version,
      lock_time: psbt.locktime,
    })
    // Each input's previous transaction is walked once per phase; bound the exchange by that.
    const bound =
      64 +
      8 * (inputs.length + outputs.length) +
      4 * [...prevs.values()].reduce((n, t) => n + t.ins.length + t.outs.length, 0)
    for (let step = 0; step < bound; step++) {
      if (answer.type !== 'TxRequest')
        throw new FlashError(
          'trezor.protocol',
          `The Trezor answered ${answer.type} while signing.`,
          'Unplug the Trezor, plug it in again and retry.',
        )
      const m = answer.message
      const serialized = m.serialized as
        { signature_index?: number | null; signature?: string | null } | null | undefined
      if (serialized?.signature && typeof serialized.signature_index === 'number')
        sigs.set(serialized.signature_index, hexToBytes(serialized.signature))
      const type = String(m.request_type)
      if (type === 'TXFINISHED') return sigs
      const details = (m.details ?? {}) as { request_index?: number; tx_hash?: string | null }
      const index = details.request_index ?? 0
      const tx = this.txAck(type, index, details.tx_hash ?? undefined, inputs, outputs, prevs)
      answer = await this.client.call('TxAck', { tx })
    }
    throw new FlashError(
      'trezor.protocol',
      'The Trezor asked for more than this transaction holds.',
      'Unplug the Trezor, plug it in again and retry.',
    )
  }

  private txAck(
    type: string,
    index: number,
    txHash: string | undefined,
    inputs: Record<string, unknown>[],
    outputs: Record<string, unknown>[],
    prevs: Map<string, Transaction>,
  ): Record<string, unknown> {
    const unknownRequest = () =>
      new FlashError(
        'trezor.protocol',
        `The Trezor asked for ${type} ${index}${txHash ? ` of ${txHash}` : ''}, which this transaction does not have.`,
        'Unplug the Trezor, plug it in again and retry.',
      )
    if (!txHash) {
      if (type === 'TXINPUT' && inputs[index]) return { inputs: [inputs[index]] }
      if (type === 'TXOUTPUT' && outputs[index]) return { outputs: [outputs[index]] }
      throw unknownRequest()
    }
    const prev = prevs.get(txHash)
    if (!prev) throw unknownRequest()
    if (type === 'TXMETA')
      return {
        version: prev.version,
        lock_time: prev.locktime,
        inputs_cnt: prev.ins.length,
        outputs_cnt: prev.outs.length,
      }
    if (type === 'TXINPUT' && prev.ins[index]) {
      const i = prev.ins[index]!
      return {
        inputs: [
          {
            prev_hash: reversedHex(i.hash),
            prev_index: i.index,
            script_sig: bytesToHex(i.script),
            sequence: i.sequence,
          },
        ],
      }
    }
    if (type === 'TXOUTPUT' && prev.outs[index]) {
      const o = prev.outs[index]!
      return { bin_outputs: [{ amount: String(o.value), script_pubkey: bytesToHex(o.script) }] }
    }
    throw unknownRequest()
  }
}
