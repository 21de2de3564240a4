// NUT-02 keysets: v2 keyset ids, active/inactive, input_fee_ppk fees, final expiry.
// https://github.com/cashubtc/nuts/blob/main/02.md
import { deriveKeysetId } from '@cashu/cashu-ts'
import type { KeysetKeys } from './nut01-keys'

export interface KeysetInfo {
  id: string
  unit: string
  active: boolean
  /** Parts per thousand per input; 0 = no fee (served as 0, as in NUT-02's own example). */
  inputFeePpk: number
  /** Unix seconds, or null: no final expiry (served as `null`, never 0). */
  finalExpiry: number | null
  derivationIndex: number
  maxOrder: number
  createdAt: number
}

export interface Keyset extends KeysetInfo {
  keys: KeysetKeys
}

/**
 * Keyset id v2: sha256("amount:pubkey,…|unit:u[|input_fee_ppk:f][|final_expiry:t]") with the
 * `01` version prefix; fee and expiry are left out of the preimage when zero or absent.
 */
export function keysetIdV2(
  publicKeys: Readonly<Record<string, string>>,
  unit: string,
  inputFeePpk: number | null,
  finalExpiry: number | null,
): string {
  return deriveKeysetId(publicKeys as Record<string, string>, {
    unit,
    versionByte: 1,
    ...(inputFeePpk ? { input_fee_ppk: inputFeePpk } : {}),
    ...(finalExpiry ? { expiry: finalExpiry } : {}),
  })
}

/** fees = ceil(sum(input_fee_ppk of each input's keyset) / 1000), integer arithmetic only. */
export function inputFees(
  inputs: readonly { id: string }[],
  feeOf: (id: string) => number,
): number {
  let sum = 0
  for (const p of inputs) sum += feeOf(p.id)
  return Math.floor((sum + 999) / 1000)
}

/** JSON shape of a keyset in GET /v1/keysets and /v1/keys. */
export function keysetJson(k: KeysetInfo): {
  id: string
  unit: string
  active: boolean
  input_fee_ppk: number
  final_expiry: number | null
} {
  return {
    id: k.id,
    unit: k.unit,
    active: k.active,
    input_fee_ppk: k.inputFeePpk,
    final_expiry: k.finalExpiry,
  }
}
