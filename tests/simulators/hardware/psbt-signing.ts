// What the PSBT-signing emulators (Coldcard, Jade) do alike: find what an input spends, from
// its full previous transaction, and sign the inputs they hold the key for, low-S, over the
// digest bitcoinjs-lib hands them.
import type { HDKey } from '@scure/bip32'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { Transaction, type Psbt } from 'bitcoinjs-lib'

/** The amount input `i` spends, or undefined if its previous transaction is missing or wrong. */
export function spentValue(psbt: Psbt, i: number): bigint | undefined {
  const input = psbt.data.inputs[i]!
  const txin = psbt.txInputs[i]!
  const prev = input.nonWitnessUtxo ? Transaction.fromBuffer(input.nonWitnessUtxo) : undefined
  const out = prev?.outs[txin.index]
  if (!prev || !out || bytesToHex(Uint8Array.from(prev.getHash())) !== bytesToHex(txin.hash))
    return undefined
  return out.value
}

/**
 * Signs each listed input with its key. `digest` lets an emulator sign something other than the
 * real sighash (to test that the box rejects such signatures); by default it is the sighash.
 */
export function signInputs(
  psbt: Psbt,
  toSign: readonly { i: number; node: HDKey }[],
  digest: (hash: Uint8Array) => Uint8Array = (hash) => hash,
): void {
  for (const { i, node } of toSign)
    psbt.signInput(i, {
      publicKey: node.publicKey!,
      sign: (hash: Uint8Array) =>
        secp256k1.sign(digest(hash), node.privateKey!, { prehash: false, lowS: true }),
    })
}
