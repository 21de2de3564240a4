// Simplified payment verification of a confirmed transaction (Bitcoin whitepaper §8): the
// Merkle branch electrs serves (blockchain.transaction.get_merkle) is folded from the txid up,
// and the root must equal the merkle root in the block header at that height, whose own hash must
// meet the proof of work its `bits` claim. Until this holds, a transaction in a block only
// "confirming", not "confirmed": a server (or anything between it and the box) that lies about a
// confirmation is caught here.
import { createHash } from 'node:crypto'
import { FlashError } from '../errors'

const dsha = (b: Uint8Array) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()

/** The fields of an 80-byte block header (https://developer.bitcoin.org/reference/block_chain.html). */
export interface BlockHeader {
  /** Block hash, display (byte-reversed) hex. */
  readonly hash: string
  readonly prevHash: string
  /** Merkle root, display hex. */
  readonly merkleRoot: string
  /** Unix seconds. */
  readonly time: number
  readonly bits: number
}

export function parseHeader(headerHex: string): BlockHeader {
  const raw = Buffer.from(headerHex, 'hex')
  if (raw.length !== 80) throw badProof('the block header is not 80 bytes')
  return {
    hash: Buffer.from(dsha(raw)).reverse().toString('hex'),
    prevHash: Buffer.from(raw.subarray(4, 36)).reverse().toString('hex'),
    merkleRoot: Buffer.from(raw.subarray(36, 68)).reverse().toString('hex'),
    time: raw.readUInt32LE(68),
    bits: raw.readUInt32LE(72),
  }
}

/** The header's hash is at or below the target its `bits` encode (compact form). */
export function meetsProofOfWork(header: BlockHeader): boolean {
  const exponent = header.bits >>> 24
  const mantissa = BigInt(header.bits & 0x007fffff)
  if (header.bits & 0x00800000) return false // a negative target is invalid
  const target =
    exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3))
  return BigInt('0x' + header.hash) <= target
}

/** The root a Merkle branch leads to from `txid` at position `pos` (all display hex). */
export function merkleRootFromBranch(txid: string, branch: readonly string[], pos: number): string {
  let hash = Buffer.from(txid, 'hex').reverse()
  let index = pos
  for (const sibling of branch) {
    const s = Buffer.from(sibling, 'hex').reverse()
    hash = dsha(index & 1 ? Buffer.concat([s, hash]) : Buffer.concat([hash, s]))
    index >>>= 1
  }
  // Leftover position bits mean the branch is too short for the position it claims.
  if (index !== 0) throw badProof('the branch is shorter than the position it claims')
  return Buffer.from(hash).reverse().toString('hex')
}

/**
 * Checks that `txid` is in the block with header `headerHex`; throws wallet.bad_merkle_proof
 * otherwise. Also refuses a branch of 64-byte-node ambiguity (CVE-2017-12842) by requiring every
 * sibling to be a 32-byte hash and the transaction not to be 64 bytes long (`txSize`).
 */
export function verifyMerkleProof(p: {
  readonly txid: string
  readonly txSize: number
  readonly branch: readonly string[]
  readonly pos: number
  readonly headerHex: string
}): BlockHeader {
  const header = parseHeader(p.headerHex)
  if (!meetsProofOfWork(header))
    throw badProof('the block header does not have the proof of work it claims')
  if (p.txSize === 64) throw badProof('a 64-byte transaction cannot be proved by a Merkle branch')
  if (p.branch.some((b) => !/^[0-9a-f]{64}$/.test(b)))
    throw badProof('the branch holds something other than hashes')
  if (p.branch.length > 32) throw badProof('the branch is longer than any block allows')
  const root = merkleRootFromBranch(p.txid, p.branch, p.pos)
  if (root !== header.merkleRoot)
    throw badProof('the branch does not lead to the block’s merkle root')
  return header
}

function badProof(detail: string): FlashError {
  return new FlashError(
    'wallet.bad_merkle_proof',
    `The Electrum server's proof that a transaction is in a block is wrong: ${detail}. The transaction is not counted as confirmed.`,
    'If this keeps happening, the Electrum server (electrs) or its data may be damaged: open the electrs logs.',
  )
}
