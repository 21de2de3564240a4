// Vault spend planning: coins picked largest first and only as many as the amount and the fee need,
// change to the asked-for change address, change below the dust line left to the fee, and plain
// refusals (not enough, a wrong-network address). The vault's addresses come from vault.ts, checked
// against an independent descriptor implementation in vault.test.ts.
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { Transaction } from 'bitcoinjs-lib'
import { describe, expect, it } from 'vitest'
import { SeedSigner } from '../seed-signer'
import { keyFingerprint, vaultAddress, type Vault } from './vault'
import type { VaultCoin } from './vault-psbt'
import { planVaultSpend } from './vault-spend'

async function vault(): Promise<Vault> {
  const pub = secp256k1.getPublicKey(Uint8Array.from({ length: 32 }, () => 5))
  return {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      { kind: 'fixed', name: 'HSM', fingerprint: keyFingerprint(pub), publicKey: bytesToHex(pub) },
      await SeedSigner.fromSeed(new Uint8Array(32).fill(1)).cosigner('regtest', 'A'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(2)).cosigner('regtest', 'B'),
    ],
  }
}

/** A coin at receive address `index`, in a transaction of its own (the PSBT carries it whole). */
function coin(v: Vault, index: number, value: bigint): VaultCoin {
  const prev = new Transaction()
  prev.addInput(new Uint8Array(32).fill(index + 1), 0)
  prev.addOutput(vaultAddress(v, 0, index).script, value)
  return { txid: prev.getId(), vout: 0, value, chain: 0, index, prevTxHex: prev.toHex() }
}

const BOB = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080'

describe('planVaultSpend', () => {
  it('picks the largest coins first, only as many as needed, and sends the rest to the change address', async () => {
    const v = await vault()
    const coins = [coin(v, 0, 100_000n), coin(v, 1, 700_000n), coin(v, 2, 300_000n)]
    const plan = planVaultSpend(v, coins, BOB, 800_000n, 2, 4)
    expect(plan.coins.map((c) => c.value)).toEqual([700_000n, 300_000n])
    expect(plan.total).toBe(1_000_000n)
    expect(plan.change?.index).toBe(4)
    expect(plan.change?.address).toBe(vaultAddress(v, 1, 4).address)
    expect(plan.change!.value + plan.fee + 800_000n).toBe(1_000_000n)
    // About 2 sat/vB over the estimated size (two 2-of-3 inputs, two outputs).
    expect(Number(plan.fee) / plan.vsize).toBeGreaterThanOrEqual(2)
    expect(Number(plan.fee) / plan.vsize).toBeLessThan(2.1)
  })

  it('leaves change below the dust line to the fee', async () => {
    const v = await vault()
    const plan = planVaultSpend(v, [coin(v, 0, 100_000n)], BOB, 99_200n, 2, 0)
    expect(plan.change).toBeUndefined()
    expect(plan.fee).toBe(800n)
  })

  it('refuses a spend the coins cannot pay, and an address of another network', async () => {
    const v = await vault()
    expect(() => planVaultSpend(v, [coin(v, 0, 100_000n)], BOB, 100_000n, 2, 0)).toThrow(
      expect.objectContaining({ code: 'vault.not_enough' }),
    )
    expect(() =>
      planVaultSpend(
        v,
        [coin(v, 0, 100_000n)],
        'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
        1_000n,
        2,
        0,
      ),
    ).toThrow(expect.objectContaining({ code: 'vault.bad_address' }))
  })
})
