// SIMULATOR — test-only. Merkle branches as the Electrum protocol serves them:
//  - blockchain.transaction.get_merkle: the branch from a transaction to its block's merkle root
//    (Bitcoin's tree: double SHA-256, an odd level repeats its last hash), hashes in display
//    (byte-reversed) hex, as electrs' merkle::Proof::to_hex gives them;
//  - blockchain.block.header(s) with cp_height: the same tree over block hashes 0..cp_height
//    (Electrum protocol 1.4, "cp_height"), branch and root in display hex.
import { createHash } from 'node:crypto'

const dsha = (b: Uint8Array) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
const fromDisplay = (hex: string) => Buffer.from(hex, 'hex').reverse()
const toDisplay = (b: Uint8Array) => Buffer.from(b).reverse().toString('hex')

export interface MerkleProof {
  /** Sibling hashes from the leaf up, display hex. */
  readonly branch: string[]
  /** The root, display hex. */
  readonly root: string
}

/**
 * Every level of the tree over `leaves` (odd levels padded), kept per leaves array: a block's
 * txid list is one array for as long as the block is indexed, so a wallet asking for the proofs
 * of many transactions of one block does not make the simulator rebuild the tree each time
 * (electrs computes each proof in Rust in microseconds; this keeps the simulator's cost near that).
 */
const trees = new WeakMap<readonly string[], Buffer[][]>()
function levels(leaves: readonly string[]): Buffer[][] {
  let out = trees.get(leaves)
  if (out) return out
  out = []
  let level: Buffer[] = leaves.map(fromDisplay)
  while (level.length > 1) {
    if (level.length % 2 === 1) level = [...level, level[level.length - 1]!]
    out.push(level)
    const next: Buffer[] = []
    for (let i = 0; i < level.length; i += 2)
      next.push(dsha(Buffer.concat([level[i]!, level[i + 1]!])))
    level = next
  }
  out.push(level)
  trees.set(leaves, out)
  return out
}

/** The branch for leaf `pos` among `leaves` (display hex, e.g. txids or block hashes). */
export function merkleProof(leaves: readonly string[], pos: number): MerkleProof {
  if (!Number.isInteger(pos) || pos < 0 || pos >= leaves.length)
    throw new RangeError(`no leaf ${pos} among ${leaves.length}`)
  const all = levels(leaves)
  let index = pos
  const branch: string[] = []
  for (let l = 0; l < all.length - 1; l++) {
    branch.push(toDisplay(all[l]![index ^ 1]!))
    index >>= 1
  }
  return { branch, root: toDisplay(all[all.length - 1]![0]!) }
}

/** Block hash (display hex) of a raw 80-byte header. */
export function headerHash(headerHex: string): string {
  return toDisplay(dsha(Buffer.from(headerHex, 'hex')))
}
