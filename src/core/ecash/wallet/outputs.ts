// The recovery primitives every saga's crash path uses: the outputs persisted before a mint call,
// NUT-07 (did the mint consume these inputs?) and NUT-09 (hand back your signatures on these
// outputs).
import {
  CheckStateEnum,
  OutputData,
  type OutputDataLike,
  type Proof,
  type SerializedOutputData,
  type Wallet,
} from '@cashu/cashu-ts'
import type { Operation, StoredProof } from '../store'
import type { WalletContext } from './context'

export function serializeOutputs(outputs: readonly OutputDataLike[]): SerializedOutputData[] {
  return outputs.map((o) => OutputData.serialize(o))
}

export function outputsOf(op: Operation, key: string): SerializedOutputData[] {
  const v = op.data[key]
  return Array.isArray(v) ? (v as SerializedOutputData[]) : []
}

/** NUT-07: the mint's state of each proof, in order. */
export async function checkStates(
  ctx: WalletContext,
  w: Wallet,
  mintUrl: string,
  proofs: readonly Pick<StoredProof, 'secret' | 'keysetId'>[],
): Promise<string[]> {
  if (!proofs.length) return []
  try {
    const states = await w.checkProofsStates(
      proofs.map((p) => ({ secret: p.secret, id: p.keysetId })),
    )
    return states.map((s) => s.state)
  } catch (err) {
    throw ctx.mintFailed(mintUrl, err)
  }
}

/** NUT-09: ask the mint for its signatures on outputs we persisted, and unblind them. */
export async function restoreOutputs(
  ctx: WalletContext,
  w: Wallet,
  mintUrl: string,
  serialized: SerializedOutputData[],
): Promise<Proof[]> {
  if (!serialized.length) return []
  const outputs = serialized.map((s) => OutputData.deserialize(s))
  let res
  try {
    res = await w.mint.restore({ outputs: outputs.map((o) => o.blindedMessage) })
  } catch (err) {
    throw ctx.mintFailed(mintUrl, err)
  }
  const sigByB = new Map(res.outputs.map((o, i) => [o.B_, res.signatures[i]]))
  const proofs: Proof[] = []
  for (const o of outputs) {
    const sig = sigByB.get(o.blindedMessage.B_)
    if (!sig) continue
    proofs.push(o.toProof(sig, w.keyChain.getKeyset(sig.id)))
  }
  if (!proofs.length) return []
  const states = await w.checkProofsStates(proofs)
  return proofs.filter((_, i) => states[i]?.state === CheckStateEnum.UNSPENT)
}
