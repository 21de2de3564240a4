// PSBTs for spending a vault (BIP174), with what signing devices ask for: the previous
// transaction (nonWitnessUtxo, since BIP143 amounts can be lied about across inputs), the
// witness script, every cosigner's key origin on every input, global xpubs, and the change output
// described the same way so devices show it as change, not as a payment.
import { createBase58check } from '@scure/base'
import { sha256 } from '@noble/hashes/sha2.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { address as baddress, Psbt, Transaction } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { FlashError } from '../../errors'
import { parsePsbt } from '../psbt-cosign'
import { bitcoinNetwork, compareBytes, vaultAddress, type Vault, type VaultAddress } from './vault'

export interface VaultCoin {
  txid: string
  vout: number
  value: bigint
  chain: 0 | 1
  index: number
  /** The whole previous transaction, hex. */
  prevTxHex: string
}

export interface Payment {
  address: string
  value: bigint
}

const base58check = createBase58check(sha256)

function derivations(a: VaultAddress) {
  return a.keys.map((k) => ({
    masterFingerprint: k.fingerprint,
    path: k.path,
    pubkey: k.publicKey,
  }))
}

/** An unsigned PSBT spending `coins` to `payments`, with `change` back to the vault. */
export function vaultSpendPsbt(
  vault: Vault,
  coins: readonly VaultCoin[],
  pay: readonly Payment[],
  change?: { index: number; value: bigint },
): string {
  const network = bitcoinNetwork(vault.network)
  const psbt = new Psbt({ network })
  psbt.setVersion(2)
  const xpubs = vault.cosigners.flatMap((c) =>
    c.kind === 'xpub'
      ? [
          {
            extendedPubkey: base58check.decode(c.xpub),
            masterFingerprint: hexToBytes(c.fingerprint),
            path: c.path.replace(/h/g, "'"),
          },
        ]
      : [],
  )
  if (xpubs.length > 0) psbt.updateGlobal({ globalXpub: xpubs })
  for (const coin of coins) {
    const at = vaultAddress(vault, coin.chain, coin.index)
    const prev = Transaction.fromHex(coin.prevTxHex)
    const out = prev.outs[coin.vout]
    if (
      prev.getId() !== coin.txid ||
      !out ||
      compareBytes(out.script, at.script) !== 0 ||
      out.value !== coin.value
    )
      throw new FlashError(
        'vault.coin_mismatch',
        `The coin ${coin.txid}:${coin.vout} is not the vault's address ${at.address}.`,
        'Refresh the vault’s coins and build the transaction again.',
      )
    psbt.addInput({
      hash: coin.txid,
      index: coin.vout,
      sequence: 0xfffffffd,
      nonWitnessUtxo: prev.toBuffer(),
      witnessUtxo: { script: at.script, value: coin.value },
      witnessScript: at.witnessScript,
      bip32Derivation: derivations(at),
    })
  }
  for (const p of pay) psbt.addOutput({ address: p.address, value: p.value })
  if (change) {
    const at = vaultAddress(vault, 1, change.index)
    psbt.addOutput({
      script: at.script,
      value: change.value,
      witnessScript: at.witnessScript,
      bip32Derivation: derivations(at),
    })
  }
  // Cross-check our own result: every input and the change must be recognised as the vault's.
  checkPsbtBelongsToVault(vault, psbt.toBase64())
  return psbt.toBase64()
}

function notTheVault(i: number, why: string): FlashError {
  return new FlashError(
    'vault.foreign_psbt',
    `Input ${i} of this PSBT is not from the vault (${why}). Nothing was signed.`,
    'Open the PSBT that was made for this vault, or choose the right vault.',
  )
}

/**
 * Every input must be a vault address that the PSBT's own key origins point at: the witness
 * script is rebuilt from the vault's keys at the chain/index the origins name, and compared.
 */
export function checkPsbtBelongsToVault(vault: Vault, base64: string): Psbt {
  const psbt = parsePsbt(base64, bitcoinNetwork(vault.network))
  const ranged = vault.cosigners.findIndex((c) => c.kind === 'xpub')
  const fp = vault.cosigners[ranged]!.fingerprint
  psbt.data.inputs.forEach((input, i) => {
    if (!input.witnessScript || !input.witnessUtxo) throw notTheVault(i, 'no witness script')
    const origin = input.bip32Derivation?.find(
      (d) => Buffer.from(d.masterFingerprint).toString('hex') === fp,
    )
    const m = origin && /\/([01])\/(\d+)$/.exec(origin.path)
    if (!m) throw notTheVault(i, 'no key origin for the vault’s keys')
    const at = vaultAddress(vault, Number(m[1]) as 0 | 1, Number(m[2]))
    if (
      compareBytes(at.witnessScript, input.witnessScript) !== 0 ||
      compareBytes(at.script, input.witnessUtxo.script) !== 0
    )
      throw notTheVault(i, 'its script is not the vault’s')
  })
  return psbt
}

/** Joins the signatures of several copies of one PSBT (BIP174 Combiner). */
export function combinePsbts(vault: Vault, copies: readonly string[]): string {
  const [first, ...rest] = copies.map((c) => checkPsbtBelongsToVault(vault, c))
  if (!first) throw new Error('combine needs at least one PSBT')
  const unsigned = Buffer.from(first.data.globalMap.unsignedTx.toBuffer()).toString('hex')
  for (const copy of rest) {
    if (Buffer.from(copy.data.globalMap.unsignedTx.toBuffer()).toString('hex') !== unsigned)
      throw new FlashError(
        'psbt.not_same_transaction',
        'These PSBTs are not copies of the same transaction.',
        'Collect the signed files made from the one PSBT you exported.',
      )
    // Signatures only, each once: two copies signed by the same key (a file loaded twice) are
    // one signature, where bip174's combine would refuse the duplicate.
    copy.data.inputs.forEach((input, i) => {
      const have = first.data.inputs[i]!.partialSig ?? []
      const added = (input.partialSig ?? []).filter(
        (s) => !have.some((h) => compareBytes(h.pubkey, s.pubkey) === 0),
      )
      if (added.length > 0) first.updateInput(i, { partialSig: added })
    })
  }
  return first.toBase64()
}

export interface FinalTransaction {
  txid: string
  hex: string
}

/**
 * Checks every signature (strict DER, low S, against its BIP143 digest), requires the vault's
 * threshold on every input, finalizes and extracts. A PSBT short of signatures, or with one that
 * does not verify, is refused: nothing that could be rejected or malleated is handed to broadcast.
 */
export function finalizeVaultPsbt(vault: Vault, base64: string): FinalTransaction {
  const psbt = checkPsbtBelongsToVault(vault, base64)
  psbt.data.inputs.forEach((input, i) => {
    const sigs = input.partialSig ?? []
    const valid = sigs.filter((s) =>
      psbt.validateSignaturesOfInput(i, (pk, h, sig) => ecc.verify(h, pk, sig, true), s.pubkey),
    )
    if (valid.length !== sigs.length)
      throw new FlashError(
        'psbt.bad_signature',
        `A signature on input ${i} does not verify. The transaction was not sent.`,
        'Sign again with the device or HSM that made it; do not broadcast this PSBT.',
      )
    if (valid.length < vault.threshold)
      throw new FlashError(
        'psbt.needs_signatures',
        `Input ${i} has ${valid.length} of the ${vault.threshold} signatures the vault needs.`,
        `Sign with ${vault.threshold - valid.length} more of the vault’s keys, then combine.`,
      )
  })
  // More signatures than the threshold (all three keys signed): CHECKMULTISIG takes exactly k,
  // so the first k (bitcoinjs orders them by the script's key order) are kept.
  psbt.data.inputs.forEach((input) => {
    if ((input.partialSig?.length ?? 0) > vault.threshold)
      input.partialSig = input.partialSig!.slice(0, vault.threshold)
  })
  psbt.finalizeAllInputs()
  const tx = psbt.extractTransaction()
  return { txid: tx.getId(), hex: tx.toHex() }
}

/** The address an output pays, for review screens (undefined for non-standard scripts). */
export function outputAddress(vault: Vault, script: Uint8Array): string | undefined {
  try {
    return baddress.fromOutputScript(script, bitcoinNetwork(vault.network))
  } catch {
    return undefined
  }
}
