// Adds one key's signatures to a PSBT (BIP174): every P2WSH input whose witness script is a
// CHECKMULTISIG naming that key is signed with SIGHASH_ALL over its BIP143 digest. Inputs of other
// shapes, or already signed by the key, are left alone. Each new signature is verified before
// the PSBT is returned, so a token that answers garbage never puts a bad signature in it.
import { Psbt, payments, Transaction, type Network } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { FlashError } from '../errors'
import { compareBytes } from './multisig/vault'

export interface DigestSigner {
  /** 33-byte compressed key. */
  readonly publicKey: Uint8Array
  /** ECDSA over a 32-byte digest: 64 bytes r‖s, low S; `normalised` when S was flipped. */
  signDigest(digest: Uint8Array): { compact: Uint8Array; normalised: boolean }
}

export interface CosignResult {
  psbt: string
  signedInputs: number[]
  normalisedHighS: number
}

export function parsePsbt(base64: string, network: Network): Psbt {
  try {
    return Psbt.fromBase64(base64, { network })
  } catch (err) {
    throw new FlashError(
      'psbt.unreadable',
      'This is not a PSBT Flash Box can read.',
      'Export the transaction again as a PSBT (base64) from the wallet that made it.',
      { cause: err },
    )
  }
}

function multisigKeys(witnessScript: Uint8Array): Uint8Array[] | undefined {
  try {
    return payments.p2ms({ output: witnessScript }).pubkeys
  } catch {
    return undefined
  }
}

export function cosignPsbt(base64: string, signer: DigestSigner, network: Network): CosignResult {
  const psbt = parsePsbt(base64, network)
  const signedInputs: number[] = []
  let normalisedHighS = 0
  psbt.data.inputs.forEach((input, i) => {
    if (!input.witnessScript || !input.witnessUtxo) return
    const keys = multisigKeys(input.witnessScript)
    if (!keys?.some((k) => compareBytes(k, signer.publicKey) === 0)) return
    if (input.partialSig?.some((s) => compareBytes(s.pubkey, signer.publicKey) === 0)) return
    if (input.sighashType !== undefined && input.sighashType !== Transaction.SIGHASH_ALL)
      throw new FlashError(
        'psbt.sighash',
        `Input ${i} asks for a signature type other than SIGHASH_ALL.`,
        'Flash Box signs only whole transactions (SIGHASH_ALL). Make the PSBT again without a special sighash.',
      )
    psbt.signInput(i, {
      publicKey: signer.publicKey,
      sign: (hash: Uint8Array) => {
        const sig = signer.signDigest(hash)
        if (sig.normalised) normalisedHighS++
        return sig.compact
      },
    })
    const ok = psbt.validateSignaturesOfInput(
      i,
      (pubkey, msghash, signature) => ecc.verify(msghash, pubkey, signature, true),
      signer.publicKey,
    )
    if (!ok)
      throw new FlashError(
        'psbt.bad_signature',
        `The signature made for input ${i} does not verify. Nothing was changed.`,
        'The signer answered with a wrong signature. Check the device or HSM and try again; do not broadcast.',
      )
    signedInputs.push(i)
  })
  return { psbt: psbt.toBase64(), signedInputs, normalisedHighS }
}
