// NUT-13 deterministic secrets: the spec's vectors, through the seed and output code the wallet
// uses (deriveWalletSeed → cashu-ts OutputData), and a real cashu-ts Wallet reserving its
// counters from our SQLite CounterSource produces exactly those outputs.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  Amount,
  KeyChain,
  OutputData,
  Wallet,
  deriveKeysetId,
  getKeysetIdInt,
  type GetInfoResponse,
  type MintQuoteBolt11Response,
} from '@cashu/cashu-ts'
import { bytesToHex } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import vectors from './nut13.vectors.json'
import { deriveWalletSeed } from './bip39-seed'
import { EcashStore } from './store'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ecash-nut13-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const secretHex = (o: OutputData) => new TextDecoder().decode(o.secret)
const rHex = (o: OutputData) => o.blindingFactor.toString(16).padStart(64, '0')

describe('NUT-13 deterministic secrets', () => {
  const { seed } = deriveWalletSeed(vectors.mnemonic)

  it.each(vectors.keysetIdInt)('maps keyset $keysetId to its derivation integer', (v) => {
    expect(getKeysetIdInt(v.keysetId)).toBe(BigInt(v.int))
  })

  describe.each(vectors.derivations)('keyset version $version', (v) => {
    it('derives the spec secrets and blinding factors for counters 0–4', () => {
      v.secrets.forEach((secret, counter) => {
        const out = OutputData.createSingleDeterministicData(1, seed, counter, v.keysetId)
        expect(secretHex(out)).toBe(secret)
        expect(rHex(out)).toBe(v.blindingFactors[counter])
      })
    })

    it('gives consecutive counters to the outputs of one amount split', () => {
      const keys = Object.fromEntries([1, 2, 4, 8, 16].map((a) => [a, '02' + '11'.repeat(32)]))
      const outs = OutputData.createDeterministicData(31, seed, 0, { id: v.keysetId, keys })
      expect(outs).toHaveLength(5)
      expect(outs.map(secretHex)).toEqual(v.secrets)
      expect(outs.map(rHex)).toEqual(v.blindingFactors)
    })
  })

  it('a cashu-ts Wallet on our seed and SQLite counters builds exactly those outputs, and never reuses a counter', async () => {
    const store = new EcashStore(tmp())
    try {
      // A keyset like a mint publishes: amounts 1…128, id derived from the keys (NUT-02 v2).
      const keys = Object.fromEntries(
        [...Array(8).keys()].map((i) => [
          String(2 ** i),
          bytesToHex(secp256k1.getPublicKey(new Uint8Array(32).fill(i + 1), true)),
        ]),
      )
      const id = deriveKeysetId(keys, { unit: 'sat', input_fee_ppk: 0 })
      const url = 'http://mint.invalid'
      const cache = KeyChain.mintToCacheDTO(
        url,
        [{ id, unit: 'sat', active: true, input_fee_ppk: 0 }],
        [{ id, unit: 'sat', keys }],
      )
      const info = {
        name: 'unit',
        pubkey: '02' + '22'.repeat(32),
        version: 'unit/0',
        contact: [],
        nuts: {
          '4': { methods: [{ method: 'bolt11', unit: 'sat' }], disabled: false },
          '5': { methods: [{ method: 'bolt11', unit: 'sat' }], disabled: false },
        },
      } as unknown as GetInfoResponse
      const counters = store.counterSource()
      const wallet = new Wallet(url, {
        unit: 'sat',
        bip39seed: seed,
        counterSource: counters,
        secretsPolicy: 'deterministic',
      })
      wallet.loadMintFromCache(info, cache)
      const quote = {
        quote: 'q1',
        request: 'lnbcrt1',
        unit: 'sat',
        amount: Amount.from(13),
        state: 'PAID',
        expiry: null,
      } as unknown as MintQuoteBolt11Response
      const first = await wallet.prepareMint(
        'bolt11',
        13,
        quote,
        {},
        { type: 'deterministic', counter: 0 },
      )
      const n = first.outputData.length
      expect(n).toBeGreaterThan(0)
      first.outputData.forEach((o, i) => {
        const expected = OutputData.createSingleDeterministicData(1, seed, i, id)
        expect(secretHex(o as OutputData)).toBe(secretHex(expected))
        expect(rHex(o as OutputData)).toBe(rHex(expected))
      })
      expect(await counters.snapshot!()).toEqual({ [id]: n })

      // Reopen the store ("restart"): the next outputs continue after the persisted counter.
      store.close()
      const reopened = new EcashStore(store.path.replace(/\/wallet\.sqlite$/, ''))
      const again = new Wallet(url, {
        unit: 'sat',
        bip39seed: seed,
        counterSource: reopened.counterSource(),
        secretsPolicy: 'deterministic',
      })
      again.loadMintFromCache(info, cache)
      const second = await again.prepareMint(
        'bolt11',
        1,
        quote,
        {},
        { type: 'deterministic', counter: 0 },
      )
      const expectedNext = OutputData.createSingleDeterministicData(1, seed, n, id)
      expect(secretHex(second.outputData[0] as OutputData)).toBe(secretHex(expectedNext))
      expect(bytesToHex(second.outputData[0]!.secret)).not.toBe(
        bytesToHex(first.outputData[0]!.secret),
      )
      reopened.close()
    } finally {
      store.close()
    }
  })
})
