// NUT-12 DLEQ proofs on blind signatures, with the spec's deterministic nonce
// r = HMAC-SHA256(a, "Cashu_DLEQ_R_v1" ‖ A ‖ B' ‖ C' ‖ ctr) — cashu-ts's createDLEQProof
// implements exactly that (checked against the spec vectors in nut12-dleq.test.ts).
// https://github.com/cashubtc/nuts/blob/main/12.md
import type { pointFromHex } from '@cashu/cashu-ts'
import { createDLEQProof } from '@cashu/cashu-ts'
import { bytesToHex } from '@noble/hashes/utils.js'

export function dleqProof(
  B_: ReturnType<typeof pointFromHex>,
  k: Uint8Array,
): { e: string; s: string } {
  const p = createDLEQProof(B_, k)
  return { e: bytesToHex(p.e), s: bytesToHex(p.s) }
}
