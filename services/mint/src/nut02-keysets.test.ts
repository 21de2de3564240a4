import { describe, expect, it } from 'vitest'
import { deriveKeysetId } from '@cashu/cashu-ts'
import { inputFees, keysetIdV2, keysetJson } from './nut02-keysets'
import { deriveKeysetKeys } from './nut01-keys'
import raw from './nut02-keysets.vectors.json'

const vectors = raw as unknown as {
  v1: { id: string; keys: Record<string, string> }[]
  v2: {
    id: string
    unit: string
    input_fee_ppk: number | null
    final_expiry: number | null
    keys: Record<string, string>
  }[]
}

describe('NUT-02 keyset ids (spec vectors)', () => {
  it.each(vectors.v2)('v2 id $id', ({ id, unit, input_fee_ppk, final_expiry, keys }) => {
    expect(keysetIdV2(keys, unit, input_fee_ppk, final_expiry)).toBe(id)
  })

  it.each(vectors.v1)('v1 id $id (deprecated, still derivable)', ({ id, keys }) => {
    expect(deriveKeysetId(keys, { versionByte: 0 })).toBe(id)
  })

  it('leaves a zero fee and a missing expiry out of the preimage', () => {
    const keys = vectors.v2[2]!.keys
    expect(keysetIdV2(keys, 'sat', 0, null)).toBe(keysetIdV2(keys, 'sat', null, null))
    expect(keysetIdV2(keys, 'sat', 100, null)).not.toBe(keysetIdV2(keys, 'sat', 0, null))
  })
})

describe('NUT-02 fees', () => {
  it('charges ceil(sum(input_fee_ppk) / 1000)', () => {
    const fee = (id: string) => (id === 'a' ? 100 : id === 'b' ? 1000 : 0)
    expect(inputFees([{ id: 'a' }, { id: 'a' }, { id: 'a' }], fee)).toBe(1)
    expect(
      inputFees(
        Array.from({ length: 10 }, () => ({ id: 'a' })),
        fee,
      ),
    ).toBe(1)
    expect(
      inputFees(
        Array.from({ length: 11 }, () => ({ id: 'a' })),
        fee,
      ),
    ).toBe(2)
    expect(inputFees([{ id: 'b' }, { id: 'c' }], fee)).toBe(1)
    expect(inputFees([{ id: 'c' }], fee)).toBe(0)
  })

  it('serves final_expiry null (never 0) when a keyset has none', () => {
    const json = keysetJson({
      id: '01ab',
      unit: 'sat',
      active: true,
      inputFeePpk: 0,
      finalExpiry: null,
      derivationIndex: 0,
      maxOrder: 4,
      createdAt: 0,
    })
    expect(json.final_expiry).toBeNull()
    expect(json.input_fee_ppk).toBe(0)
  })
})

describe('NUT-01 key derivation', () => {
  it('is deterministic per (seed, unit, index) and differs across rotations', () => {
    const seed = new Uint8Array(64).fill(7)
    const a = deriveKeysetKeys(seed, 'sat', 0, 8)
    const b = deriveKeysetKeys(seed, 'sat', 0, 8)
    const c = deriveKeysetKeys(seed, 'sat', 1, 8)
    expect(a.publicKeys).toEqual(b.publicKeys)
    expect(a.publicKeys['1']).not.toBe(c.publicKeys['1'])
    expect(Object.keys(a.publicKeys)).toEqual(['1', '2', '4', '8', '16', '32', '64', '128'])
  })
})
