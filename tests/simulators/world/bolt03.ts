// SIMULATOR support — test-only. The on-chain scripts of a Lightning channel as BOLT 3 defines
// them (https://github.com/lightning/bolts/blob/master/03-transactions.md), built with
// bitcoinjs-lib so the chain checks real signatures: the 2-of-2 funding output, the commitment
// transaction's to_local (revocable, CSV-delayed) and to_remote (P2WPKH, option_static_remotekey)
// outputs, the obscured commitment number in locktime/sequence, and the cooperative close.
// Not modelled: anchors, HTLC outputs on the commitment, per-commitment points (the basepoints
// are used directly, so no breach remedy exists).
import { createHash } from 'node:crypto'
import * as bitcoin from 'bitcoinjs-lib'

const { opcodes, script } = bitcoin

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()

const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)

/** BOLT 3 funding output: `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys in lexicographic order. */
export function fundingWitnessScript(keyA: Uint8Array, keyB: Uint8Array): Uint8Array {
  const [k1, k2] = compare(keyA, keyB) <= 0 ? [keyA, keyB] : [keyB, keyA]
  return script.compile([opcodes.OP_2, k1, k2, opcodes.OP_2, opcodes.OP_CHECKMULTISIG])
}

export function fundingPayment(
  keyA: Uint8Array,
  keyB: Uint8Array,
  network: bitcoin.Network,
): bitcoin.Payment {
  return bitcoin.payments.p2wsh({
    redeem: { output: fundingWitnessScript(keyA, keyB), network },
    network,
  })
}

/**
 * BOLT 3 to_local: `OP_IF <revocationpubkey> OP_ELSE <to_self_delay> OP_CHECKSEQUENCEVERIFY
 * OP_DROP <local_delayedpubkey> OP_ENDIF OP_CHECKSIG`.
 */
export function toLocalWitnessScript(
  revocationKey: Uint8Array,
  toSelfDelay: number,
  delayedKey: Uint8Array,
): Uint8Array {
  return script.compile([
    opcodes.OP_IF,
    revocationKey,
    opcodes.OP_ELSE,
    script.number.encode(toSelfDelay),
    opcodes.OP_CHECKSEQUENCEVERIFY,
    opcodes.OP_DROP,
    delayedKey,
    opcodes.OP_ENDIF,
    opcodes.OP_CHECKSIG,
  ])
}

/** BOLT 3 obscuring factor: lower 48 bits of SHA256(opener payment_basepoint || accepter's). */
export function obscuredCommitmentNumber(
  openerPaymentBasepoint: Uint8Array,
  accepterPaymentBasepoint: Uint8Array,
  commitmentNumber: number,
): bigint {
  const h = sha256(Buffer.concat([openerPaymentBasepoint, accepterPaymentBasepoint]))
  const factor = h.readUIntBE(26, 6)
  return BigInt(factor) ^ BigInt(commitmentNumber)
}

export interface CommitmentParams {
  readonly fundingTxid: string
  readonly fundingVout: number
  /** Outputs below this are trimmed (their value goes to fees). */
  readonly dustLimitSat: bigint
  readonly toLocal: {
    readonly sat: bigint
    readonly revocationKey: Uint8Array
    readonly delayedKey: Uint8Array
    readonly toSelfDelay: number
  }
  readonly toRemote: { readonly sat: bigint; readonly paymentKey: Uint8Array }
  readonly obscuredNumber: bigint
}

/**
 * The unsigned commitment transaction (version 2, locktime 0x20<<24 | lower 24 bits, sequence
 * 0x80<<24 | upper 24 bits of the obscured commitment number), outputs in BIP 69 order.
 */
export function commitmentTransaction(p: CommitmentParams, network: bitcoin.Network) {
  const tx = new bitcoin.Transaction()
  tx.version = 2
  const n = p.obscuredNumber
  tx.locktime = Number((0x20n << 24n) | (n & 0xffffffn))
  tx.addInput(
    Buffer.from(p.fundingTxid, 'hex').reverse(),
    p.fundingVout,
    Number((0x80n << 24n) | ((n >> 24n) & 0xffffffn)),
  )
  const toLocalScript = toLocalWitnessScript(
    p.toLocal.revocationKey,
    p.toLocal.toSelfDelay,
    p.toLocal.delayedKey,
  )
  const toLocal = bitcoin.payments.p2wsh({ redeem: { output: toLocalScript, network }, network })
  const toRemote = bitcoin.payments.p2wpkh({ pubkey: p.toRemote.paymentKey, network })
  const outs: { script: Uint8Array; value: bigint; kind: 'to_local' | 'to_remote' }[] = []
  if (p.toLocal.sat >= p.dustLimitSat)
    outs.push({ script: toLocal.output!, value: p.toLocal.sat, kind: 'to_local' })
  if (p.toRemote.sat >= p.dustLimitSat)
    outs.push({ script: toRemote.output!, value: p.toRemote.sat, kind: 'to_remote' })
  sortOutputs(outs)
  for (const o of outs) tx.addOutput(o.script, o.value)
  return {
    tx,
    toLocalScript,
    toLocalVout: outs.findIndex((o) => o.kind === 'to_local'),
    toRemoteVout: outs.findIndex((o) => o.kind === 'to_remote'),
  }
}

/** BIP 69 output order (value, then script), as BOLT 3 requires. */
export function sortOutputs<T extends { script: Uint8Array; value: bigint }>(outs: T[]): T[] {
  return outs.sort((a, b) =>
    a.value === b.value ? compare(a.script, b.script) : a.value < b.value ? -1 : 1,
  )
}

/** Witness that spends the 2-of-2 funding output: `0 <sig1> <sig2> <script>`, sigs in key order. */
export function fundingWitness(
  witnessScript: Uint8Array,
  sigs: readonly { pubkey: Uint8Array; signature: Uint8Array }[],
): Uint8Array[] {
  const ordered = [...sigs].sort((a, b) => compare(a.pubkey, b.pubkey))
  return [new Uint8Array(0), ...ordered.map((s) => s.signature), witnessScript]
}

/** DER signature + SIGHASH_ALL for a P2WSH input. */
export function signWitnessV0(
  tx: bitcoin.Transaction,
  vin: number,
  witnessScript: Uint8Array,
  value: bigint,
  sign: (hash: Uint8Array) => Uint8Array,
): Uint8Array {
  const hash = tx.hashForWitnessV0(vin, witnessScript, value, bitcoin.Transaction.SIGHASH_ALL)
  return script.signature.encode(sign(hash), bitcoin.Transaction.SIGHASH_ALL)
}
