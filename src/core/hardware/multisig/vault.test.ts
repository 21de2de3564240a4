// Vault descriptors and addresses: BIP380 checksums from the BIP's own examples, and every
// address cross-checked with an independent descriptor implementation (@bitcoinerlab/descriptors),
// including the HSM's fixed key with its own-fingerprint origin.
import { describe, expect, it } from 'vitest'
import * as ecc from 'tiny-secp256k1'
import { checksum, DescriptorsFactory } from '@bitcoinerlab/descriptors'
import { networks } from 'bitcoinjs-lib'
import { bytesToHex } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { descriptorChecksum } from './bip380-checksum'
import { checkVault, keyFingerprint, vaultAddress, vaultDescriptor, type Vault } from './vault'
import { SeedSigner } from '../seed-signer'
import type { Cosigner } from '../../../shared/api/hardware'

const { Output } = DescriptorsFactory(ecc)

describe('BIP380 descriptor checksum', () => {
  it('matches the examples in BIP380 and Bitcoin Core', () => {
    expect(descriptorChecksum('raw(deadbeef)')).toBe('89f8spxm')
    // And what another implementation computes, for descriptors of every shape the vault writes.
    for (const d of [
      'wsh(sortedmulti(1,[d34db33f/48h/1h/0h/2h]tpubD6NzVbkrYhZ4WaWSyoBvQwbpLkojyoTZPRsgXELWz3Popb3qkjcJyJUGLnL4qHHoQvao8ESaAstxYSnhyswJ76uZPStJRJCTKvosUCJZL5B/<0;1>/*))',
      'pk(02e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13)',
    ])
      expect(descriptorChecksum(d)).toBe(checksum(d))
  })
})

function hsmKey(seed: number): Cosigner {
  const pub = secp256k1.getPublicKey(
    Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? seed : 7)),
  )
  return {
    kind: 'fixed',
    name: 'HSM',
    fingerprint: keyFingerprint(pub),
    publicKey: bytesToHex(pub),
  }
}

async function vault(): Promise<Vault> {
  const a = SeedSigner.fromSeed(new Uint8Array(32).fill(1))
  const b = SeedSigner.fromSeed(new Uint8Array(32).fill(2))
  return {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await a.cosigner('regtest', 'Device'),
      hsmKey(1),
      await b.cosigner('regtest', 'Backup words'),
    ],
  }
}

describe('2-of-3 vault descriptor', () => {
  it('writes wsh(sortedmulti(2,…)) with key origins, and addresses agree with another implementation', async () => {
    const v = await vault()
    const multi = vaultDescriptor(v, 'multipath')
    expect(multi).toMatch(
      /^wsh\(sortedmulti\(2,\[[0-9a-f]{8}\/48h\/1h\/0h\/2h\]tpub\w+\/<0;1>\/\*,\[[0-9a-f]{8}\]0[23][0-9a-f]{64},\[[0-9a-f]{8}\/48h\/1h\/0h\/2h\]tpub\w+\/<0;1>\/\*\)\)#[a-z0-9]{8}$/,
    )
    for (const chain of [0, 1] as const) {
      const desc = vaultDescriptor(v, chain)
      for (const index of [0, 1, 7]) {
        const ours = vaultAddress(v, chain, index)
        const theirs = new Output({ descriptor: desc, index, network: networks.regtest })
        expect(ours.address).toBe(theirs.getAddress())
        expect(ours.keys[1]!.path).toBe('m')
        expect(ours.keys[0]!.path).toBe(`m/48'/1'/0'/2'/${chain}/${index}`)
      }
    }
    // The fixed key is in every address; addresses still differ through the extended keys.
    const a0 = vaultAddress(v, 0, 0)
    const a1 = vaultAddress(v, 0, 1)
    expect(a0.address).not.toBe(a1.address)
    expect(bytesToHex(a0.keys[1]!.publicKey)).toBe(bytesToHex(a1.keys[1]!.publicKey))
  })

  it('refuses a vault without an extended key, a duplicate key, a bad threshold, a wrong fingerprint', async () => {
    const v = await vault()
    expect(() => checkVault({ ...v, cosigners: [hsmKey(1), hsmKey(2)] })).toThrow(
      expect.objectContaining({ code: 'vault.no_extended_key' }),
    )
    expect(() => checkVault({ ...v, cosigners: [v.cosigners[0]!, v.cosigners[0]!] })).toThrow(
      expect.objectContaining({ code: 'vault.duplicate_key' }),
    )
    expect(() => checkVault({ ...v, threshold: 4 })).toThrow(
      expect.objectContaining({ code: 'vault.bad_threshold' }),
    )
    expect(() =>
      checkVault({ ...v, cosigners: [v.cosigners[0]!, { ...hsmKey(1), fingerprint: '00000000' }] }),
    ).toThrow(expect.objectContaining({ code: 'vault.bad_key' }))
  })
})

describe('vault exports', () => {
  it('all extended keys: BIP388 policy, BSMS record and Coldcard file; a fixed key: none, and says why', async () => {
    const { vaultView } = await import('./vault-exports')
    const v = await vault()
    const c = SeedSigner.fromSeed(new Uint8Array(32).fill(3))
    const allXpub: Vault = {
      ...v,
      cosigners: [v.cosigners[0]!, v.cosigners[2]!, await c.cosigner('regtest', 'C')],
    }
    const view = vaultView(allXpub)
    expect(view.walletPolicy?.template).toBe('wsh(sortedmulti(2,@0/**,@1/**,@2/**))')
    expect(view.walletPolicy?.keys[0]).toMatch(/^\[[0-9a-f]{8}\/48'\/1'\/0'\/2'\]tpub/)
    const bsms = view.bsms!.split('\n')
    expect(bsms[0]).toBe('BSMS 1.0')
    expect(bsms[2]).toBe('/0/*,/1/*')
    expect(bsms[3]).toBe(view.firstAddresses[0])
    expect(view.coldcardFile).toMatch(/Policy: 2 of 3\nFormat: P2WSH/)
    expect(view.coldcardFile).toContain(`${allXpub.cosigners[0]!.fingerprint.toUpperCase()}: tpub`)
    const withHsm = vaultView(v)
    expect(withHsm.walletPolicy).toBeUndefined()
    expect(withHsm.bsms).toBeUndefined()
    expect(withHsm.exportLimits).toHaveLength(2)
  })
})
