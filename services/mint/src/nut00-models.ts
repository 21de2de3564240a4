// NUT-00 models (BlindedMessage, BlindSignature, Proof) and the edge validation of every
// request body. https://github.com/cashubtc/nuts/blob/main/00.md
import { z } from 'zod'

export const HEX_POINT = /^0[23][0-9a-fA-F]{64}$/
/** Keyset ids: v1 (`00` + 14 hex) and v2 (`01` + 64 hex). */
export const KEYSET_ID = /^(00[0-9a-fA-F]{14}|01[0-9a-fA-F]{64})$/
/** Secrets are UTF-8 strings; bound them so one request cannot exhaust memory. */
export const MAX_SECRET_LENGTH = 8192
export const MAX_WITNESS_LENGTH = 65536

const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

export const BlindedMessageSchema = z.object({
  amount,
  id: z.string().regex(KEYSET_ID, 'not a keyset id'),
  B_: z.string().regex(HEX_POINT, 'not a compressed point'),
})
export type BlindedMessage = z.infer<typeof BlindedMessageSchema>

const witness = z.union([
  z.string().max(MAX_WITNESS_LENGTH),
  z
    .object({
      signatures: z.array(z.string().max(256)).max(64).optional(),
      preimage: z.string().max(256).optional(),
    })
    .transform((w) => JSON.stringify(w)),
])

export const ProofSchema = z.object({
  amount,
  id: z.string().regex(KEYSET_ID, 'not a keyset id'),
  secret: z.string().min(1).max(MAX_SECRET_LENGTH),
  C: z.string().regex(HEX_POINT, 'not a compressed point'),
  witness: witness.optional().nullable(),
  // Wallets may forward a DLEQ proof; the mint never needs it.
  dleq: z.unknown().optional(),
})
export type Proof = z.infer<typeof ProofSchema>

export interface BlindSignature {
  amount: number
  id: string
  C_: string
  dleq?: { e: string; s: string }
}

export const MethodSchema = z.string().regex(/^[a-z0-9_-]+$/)
export const UnitSchema = z.string().regex(/^[a-z0-9_]{1,16}$/)
