// Coldcard's air-gapped flow: the PSBT goes to the microSD card as a file, the Coldcard signs it
// offline and writes the result next to it. No USB at all. File names as the Coldcard writes
// them (Coldcard docs, "PSBT files"): NAME.psbt in; NAME-part.psbt (partly signed, multisig),
// NAME-signed.psbt, or NAME-final.txn (finalized transaction, hex) out. PSBT files may be binary,
// base64 or hex; Flash Box writes binary, which every Coldcard firmware reads.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import type { SignResult } from '../../shared/api/hardware'
import { parsePsbt } from './psbt-cosign'
import { bitcoinNetwork, type Vault } from './multisig/vault'
import { checkPsbtBelongsToVault } from './multisig/vault-psbt'
import * as ecc from 'tiny-secp256k1'

const PSBT_MAGIC = Buffer.from('70736274ff', 'hex')

function safeName(name: string): string {
  const n = name.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32)
  if (!n) throw new FlashError('sd.bad_name', 'The file name is empty.', 'Use letters and digits.')
  return n
}

/** Writes NAME.psbt (binary) into the card's folder; returns the path. */
export function writePsbtToCard(folder: string, name: string, psbtBase64: string): string {
  if (!existsSync(folder))
    throw new FlashError(
      'sd.no_card',
      `The folder ${folder} does not exist.`,
      'Insert the microSD card and choose the folder where it is mounted.',
    )
  const path = join(folder, `${safeName(name)}.psbt`)
  writeFileAtomicSync(path, Buffer.from(psbtBase64, 'base64'), 0o644)
  return path
}

/** A PSBT file's bytes in any of the encodings Coldcard and other tools write → base64. */
export function psbtFileToBase64(bytes: Buffer): string {
  if (bytes.subarray(0, 5).equals(PSBT_MAGIC)) return bytes.toString('base64')
  const text = bytes.toString('utf8').trim()
  if (text.startsWith('cHNidP8')) return text
  if (/^70736274ff[0-9a-fA-F]+$/.test(text)) return Buffer.from(text, 'hex').toString('base64')
  throw new FlashError(
    'sd.not_psbt',
    'This file is not a PSBT.',
    'Choose the file the Coldcard wrote after signing (it ends in -part.psbt or -signed.psbt).',
  )
}

export type CardResult =
  { kind: 'psbt'; file: string; psbt: string } | { kind: 'final'; file: string; hex: string }

/** The Coldcard's answer for NAME, or undefined while it has not written one yet. */
export function readSignedFromCard(folder: string, name: string): CardResult | undefined {
  const base = safeName(name)
  for (const suffix of ['-part.psbt', '-signed.psbt']) {
    const file = join(folder, base + suffix)
    if (existsSync(file)) return { kind: 'psbt', file, psbt: psbtFileToBase64(readFileSync(file)) }
  }
  const final = join(folder, `${base}-final.txn`)
  if (existsSync(final))
    return { kind: 'final', file: final, hex: readFileSync(final, 'utf8').trim() }
  return undefined
}

/**
 * Accepts the signed PSBT only if it is the transaction that was sent out (same unsigned
 * transaction), it belongs to the vault, the signer with `fingerprint` signed every input it has
 * a key in, and every signature verifies. Returns the signed inputs.
 */
export function acceptSignedPsbt(
  vault: Vault,
  sentBase64: string,
  signedBase64: string,
  fingerprint: string,
): SignResult {
  const network = bitcoinNetwork(vault.network)
  const sent = parsePsbt(sentBase64, network)
  const signed = checkPsbtBelongsToVault(vault, signedBase64)
  const txOf = (p: typeof sent) =>
    bytesToHex((p.data.globalMap.unsignedTx as unknown as { toBuffer(): Uint8Array }).toBuffer())
  if (txOf(sent) !== txOf(signed))
    throw new FlashError(
      'sd.other_transaction',
      'The signed file is for a different transaction than the one you exported.',
      'Sign the PSBT file Flash Box wrote to the card, then load the file the Coldcard wrote next to it.',
    )
  const signedInputs: number[] = []
  signed.data.inputs.forEach((input, i) => {
    const mine = (input.bip32Derivation ?? []).filter(
      (d) => bytesToHex(d.masterFingerprint) === fingerprint,
    )
    if (mine.length === 0) return
    const sigs = (input.partialSig ?? []).filter((s) =>
      mine.some((d) => bytesToHex(d.pubkey) === bytesToHex(s.pubkey)),
    )
    if (sigs.length === 0) return
    const ok = sigs.every((s) =>
      signed.validateSignaturesOfInput(i, (pk, h, sig) => ecc.verify(h, pk, sig, true), s.pubkey),
    )
    if (!ok)
      throw new FlashError(
        'psbt.bad_signature',
        `A signature on input ${i} does not verify. Nothing was kept.`,
        'Sign again on the Coldcard; do not broadcast this file.',
      )
    signedInputs.push(i)
  })
  if (signedInputs.length === 0)
    throw new FlashError(
      'signer.wrong_seed',
      `The file has no signature from the key with fingerprint ${fingerprint}.`,
      'Check that the Coldcard holds this vault’s seed (its fingerprint is on the recovery sheet), then sign again.',
    )
  return { psbt: signed.toBase64(), signedInputs, normalisedHighS: 0 }
}
