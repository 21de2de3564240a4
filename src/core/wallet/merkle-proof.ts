// Simplified payment verification of a confirmed transaction (Bitcoin whitepaper §8): the
// Merkle branch electrs serves (blockchain.transaction.get_merkle) is folded from the txid up,
// and the root must equal the merkle root in the block header at that height, whose own hash must
// meet the proof of work its `bits` claim. Until this holds, a transaction in a block only
// "confirming", not "confirmed": a server (or anything between it and the box) that lies about a
// confirmation is caught here.
import { hash as digest } from 'node:crypto'
import { isLowerHex } from '../clients/electrum'
import { FlashError } from '../errors'

// One-shot hashing (no Hash object per call): a sync checks thousands of branch nodes.
const dsha = (b: Uint8Array): Buffer => digest('sha256', digest('sha256', b, 'buffer'), 'buffer')

/** The two children of a node, side by side: hashed straight away, so one buffer serves all. */
const pair = Buffer.allocUnsafe(64)

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

/** A branch electrs served, checked for shape: 32-byte hashes, at most 32 levels. */
function checkBranch(txSize: number, branch: readonly string[]): void {
  if (txSize === 64) throw badProof('a 64-byte transaction cannot be proved by a Merkle branch')
  if (branch.length > 32) throw badProof('the branch is longer than any block allows')
  for (const b of branch)
    if (!isLowerHex(b, 64)) throw badProof('the branch holds something other than hashes')
}

/**
 * Folds one level: the parent of `hash` and its sibling. Bitcoin pairs the last node of a level
 * with a copy of itself, so a right-hand node (odd index) equal to its left sibling can only be
 * that copy: a position that does not exist (CVE-2012-2459, the duplicated-transaction ambiguity).
 * Refused; without it a server could "prove" the last transaction of a block at a second position.
 */
function foldLevel(hash: Buffer, sibling: Buffer, index: number): Buffer {
  if (index & 1) {
    if (sibling.equals(hash))
      throw badProof('the branch proves a duplicated copy of a transaction (CVE-2012-2459)')
    pair.set(sibling, 0)
    pair.set(hash, 32)
  } else {
    pair.set(hash, 0)
    pair.set(sibling, 32)
  }
  return dsha(pair)
}

const internal = (displayHex: string) => Buffer.from(displayHex, 'hex').reverse()

/** The root a Merkle branch leads to from `txid` at position `pos` (all display hex). */
export function merkleRootFromBranch(txid: string, branch: readonly string[], pos: number): string {
  let hash: Buffer = internal(txid)
  let index = pos
  for (const sibling of branch) {
    hash = foldLevel(hash, internal(sibling), index)
    index >>>= 1
  }
  // Leftover position bits mean the branch is too short for the position it claims.
  if (index !== 0) throw badProof('the branch is shorter than the position it claims')
  return Buffer.from(hash).reverse().toString('hex')
}

/**
 * Checks that `txid` is in the block with header `headerHex`; throws wallet.bad_merkle_proof
 * otherwise. Also refuses a branch of 64-byte-node ambiguity (CVE-2017-12842) by requiring every
 * sibling to be a 32-byte hash and the transaction not to be 64 bytes long (`txSize`), and the
 * duplicated-leaf ambiguity (CVE-2012-2459, see foldLevel).
 */
/** A Merkle proof as electrs serves it, with the transaction's size and its block's header. */
export interface MerkleProofInput {
  readonly txid: string
  readonly txSize: number
  readonly branch: readonly string[]
  readonly pos: number
  readonly headerHex: string
}

export function verifyMerkleProof(p: MerkleProofInput): BlockHeader {
  const header = parseHeader(p.headerHex)
  if (!meetsProofOfWork(header))
    throw badProof('the block header does not have the proof of work it claims')
  checkBranch(p.txSize, p.branch)
  const root = merkleRootFromBranch(p.txid, p.branch, p.pos)
  if (root !== header.merkleRoot)
    throw badProof('the branch does not lead to the block’s merkle root')
  return header
}

/**
 * verifyMerkleProof for many proofs at once, as a sync round checks them: each header is parsed
 * and its proof of work checked once, and the tree nodes a proof has established (its path and
 * its siblings, all bound to the root) are kept per block, so a later proof in the same block
 * stops hashing as soon as it reaches a node already established at that position. A node that
 * contradicts an established one is refused like a wrong root. Same checks, same answers; far
 * fewer hashes when a block holds many of the wallet's transactions.
 */
export class MerkleVerifier {
  private readonly headers = new Map<string, BlockHeader>()
  /** Per merkle root: the node established at each position (key(), internal byte order). */
  private readonly trees = new Map<string, Map<number, Buffer>>()

  private header(headerHex: string): BlockHeader {
    let h = this.headers.get(headerHex)
    if (!h) {
      h = parseHeader(headerHex)
      if (!meetsProofOfWork(h))
        throw badProof('the block header does not have the proof of work it claims')
      this.headers.set(headerHex, h)
    }
    return h
  }

  verify(p: MerkleProofInput): BlockHeader {
    const header = this.header(p.headerHex)
    checkBranch(p.txSize, p.branch)
    let tree = this.trees.get(header.merkleRoot)
    if (!tree) {
      tree = new Map()
      this.trees.set(header.merkleRoot, tree)
    }
    const learned: [number, Buffer][] = []
    let hash: Buffer = internal(p.txid)
    let index = p.pos
    let reached = false
    for (let level = 0; level < p.branch.length; level++) {
      const known = tree.get(key(level, index))
      if (known) {
        if (!known.equals(hash))
          throw badProof('the branch does not lead to the block’s merkle root')
        reached = true
        break
      }
      const sibling = internal(p.branch[level]!)
      learned.push([key(level, index), hash])
      // A left node equal to its sibling is the last of its level, paired with its own copy:
      // that copy's position does not exist, so it is not remembered as a node.
      if (index & 1 || !sibling.equals(hash)) learned.push([key(level, index ^ 1), sibling])
      hash = foldLevel(hash, sibling, index)
      index >>>= 1
    }
    if (!reached) {
      if (index !== 0) throw badProof('the branch is shorter than the position it claims')
      if (Buffer.from(hash).reverse().toString('hex') !== header.merkleRoot)
        throw badProof('the branch does not lead to the block’s merkle root')
    }
    for (const [k, v] of learned) tree.set(k, v)
    return header
  }
}

/** A tree position as one number: level (at most 32) above the index (below 2^32). */
const key = (level: number, index: number) => level * 2 ** 32 + index

function badProof(detail: string): FlashError {
  return new FlashError(
    'wallet.bad_merkle_proof',
    `The Electrum server's proof that a transaction is in a block is wrong: ${detail}. The transaction is not counted as confirmed.`,
    'If this keeps happening, the Electrum server (electrs) or its data may be damaged: open the electrs logs.',
  )
}
