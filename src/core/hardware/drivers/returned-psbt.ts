// Devices that sign a whole PSBT file (Coldcard, Jade) hand back their own copy. The box keeps
// its own PSBT and takes only this device's signatures from the copy, after checking that the
// copy is the same transaction, belongs to the vault, and that every signature verifies: a
// device cannot slip in other outputs, keys or scripts this way.
import { bytesToHex } from '@noble/hashes/utils.js'
import { FlashError } from '../../errors'
import type { SignResult } from '../../../shared/api/hardware'
import { acceptSignedPsbt } from '../coldcard-sd'
import { bitcoinNetwork, compareBytes, type Vault } from '../multisig/vault'
import { checkPsbtBelongsToVault } from '../multisig/vault-psbt'
import { addSignatures } from './ledger'

export function takeDeviceSignatures(
  vault: Vault,
  sentBase64: string,
  returnedBase64: string,
  fingerprint: string,
  device: string,
): SignResult {
  let accepted: SignResult
  try {
    accepted = acceptSignedPsbt(vault, sentBase64, returnedBase64, fingerprint)
  } catch (err) {
    if (err instanceof FlashError && err.code === 'sd.other_transaction')
      throw new FlashError(
        'signer.other_transaction',
        `The ${device} returned a different transaction than the one sent. Nothing was kept.`,
        'Do not use this device for the vault until you have checked it.',
        { cause: err },
      )
    throw err
  }
  const p = checkPsbtBelongsToVault(vault, returnedBase64)
  const sigs = accepted.signedInputs.flatMap((i) => {
    const input = p.data.inputs[i]!
    return (input.partialSig ?? [])
      .filter((s) =>
        input.bip32Derivation?.some(
          (d) =>
            bytesToHex(d.masterFingerprint) === fingerprint &&
            compareBytes(d.pubkey, s.pubkey) === 0,
        ),
      )
      .map(
        (s) => [i, { pubkey: Buffer.from(s.pubkey), signature: Buffer.from(s.signature) }] as const,
      )
  })
  return addSignatures(sentBase64, sigs, bitcoinNetwork(vault.network))
}
