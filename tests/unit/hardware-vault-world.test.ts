// 2-of-3 cold storage on the regtest world's chain: a vault of a SoftHSM2 key (real PKCS#11), a
// backup key from BIP39 words, and a watch-only xpub. Coins sent to the vault are spent with the
// HSM and the backup words; the chain's validator checks every signature. One signature alone is
// refused by the box and by the chain; a PSBT from another vault is refused before signing; a
// tampered signature is caught before broadcast.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundVault } from './hardware-harness'
import { Transaction } from 'bitcoinjs-lib'
import { BURN_SCRIPT, TestKey } from '../simulators/world/test-keys'
import { createSoftHsmToken, type SoftHsmToken } from '../setup/softhsm'
import { TokenSession } from '../../src/core/hardware/pkcs11/pkcs11-token'
import { generateSecp256k1Key } from '../../src/core/hardware/pkcs11/secp256k1-key'
import { HsmSigner } from '../../src/core/hardware/hsm-signer'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import {
  combinePsbts,
  finalizeVaultPsbt,
  vaultSpendPsbt,
} from '../../src/core/hardware/multisig/vault-psbt'
import { parsePsbt } from '../../src/core/hardware/psbt-cosign'
import { networks } from 'bitcoinjs-lib'

const BACKUP_WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'

let token: SoftHsmToken
let session: TokenSession
let hsm: HsmSigner
let backup: SeedSigner
let vault: Vault

beforeAll(async () => {
  token = createSoftHsmToken()
  session = TokenSession.open({
    modulePath: token.modulePath,
    tokenSerial: token.serial,
    pin: token.pin,
  })
  hsm = new HsmSigner(session, generateSecp256k1Key(session, 'vault'))
  backup = SeedSigner.fromWords(BACKUP_WORDS)
  const watchOnly = SeedSigner.fromSeed(new Uint8Array(32).fill(9))
  vault = {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await hsm.cosigner('regtest', 'HSM'),
      await backup.cosigner('regtest', 'Backup words'),
      // Only its xpub is in the vault: the box holds no key for it.
      await watchOnly.cosigner('regtest', 'Other device'),
    ],
  }
})
afterAll(() => {
  session?.close()
  token?.dispose()
})

/** A chain where alice sends 1 BTC to each of the vault's first two receive addresses. */
function fundedVault() {
  return fundVault(vault, [
    { index: 0, value: 100_000_000n },
    { index: 1, value: 100_000_000n },
  ])
}

describe('2-of-3 vault: HSM + backup words + watch-only xpub, on the world chain', () => {
  it('collects two signatures one signer at a time and the chain accepts the spend', async () => {
    const { chain, coins } = fundedVault()
    const bob = TestKey.fromLabel('bob')
    const unsigned = vaultSpendPsbt(
      vault,
      coins,
      [{ address: bob.p2wpkh().address, value: 150_000_000n }],
      { index: 0, value: 49_990_000n },
    )
    // What devices ask for is in it.
    const p = parsePsbt(unsigned, networks.regtest)
    expect(p.data.globalMap.globalXpub).toHaveLength(2)
    for (const input of p.data.inputs) {
      expect(input.nonWitnessUtxo).toBeDefined()
      expect(input.witnessScript).toBeDefined()
      expect(input.bip32Derivation).toHaveLength(3)
    }
    expect(p.data.outputs[1]!.bip32Derivation).toHaveLength(3)

    const byHsm = await hsm.signPsbt(unsigned, vault)
    expect(byHsm.signedInputs).toEqual([0, 1])
    // One signature: the box refuses to finalize, and a hand-made one-signature witness is refused
    // by the chain's validator.
    expect(() => finalizeVaultPsbt(vault, byHsm.psbt)).toThrow(
      expect.objectContaining({ code: 'psbt.needs_signatures' }),
    )
    const one = parsePsbt(byHsm.psbt, networks.regtest)
    const tx = new Transaction()
    tx.version = one.version
    tx.locktime = one.locktime
    for (const i of one.txInputs) tx.addInput(i.hash, i.index, i.sequence)
    for (const o of one.txOutputs) tx.addOutput(o.script, o.value)
    one.data.inputs.forEach((input, i) =>
      tx.setWitness(i, [
        new Uint8Array(0),
        input.partialSig![0]!.signature,
        new Uint8Array(0),
        input.witnessScript!,
      ]),
    )
    const refused = chain.testAccept(tx)
    expect(refused.allowed ? 'allowed' : refused.reason).toMatch(
      /^mempool-script-verify-flag-failed/,
    )

    // The backup signs its own copy (by file), the copies are combined.
    const byBackup = await backup.signPsbt(unsigned, vault)
    expect(byBackup.signedInputs).toEqual([0, 1])
    const both = combinePsbts(vault, [byHsm.psbt, byBackup.psbt])
    const final = finalizeVaultPsbt(vault, both)
    expect(chain.testAccept(final.hex).allowed).toBe(true)
    expect(chain.submit(final.hex)).toBe(final.txid)
    chain.mine(1, BURN_SCRIPT)
    expect(chain.getTransaction(final.txid)?.height).toBe(chain.tip().height)
    // The change came back to the vault's change address.
    const change = vaultAddress(vault, 1, 0)
    expect(chain.utxo(final.txid, 1)?.script).toEqual(change.script)
  })

  it('refuses a PSBT of another vault, the wrong backup words, and a tampered signature', async () => {
    const { coins } = fundedVault()
    const bob = TestKey.fromLabel('bob')
    const unsigned = vaultSpendPsbt(vault, coins.slice(0, 1), [
      { address: bob.p2wpkh().address, value: 99_990_000n },
    ])
    const other: Vault = {
      ...vault,
      cosigners: [
        vault.cosigners[0]!,
        vault.cosigners[1]!,
        await SeedSigner.fromSeed(new Uint8Array(32).fill(3)).cosigner('regtest', 'Stranger'),
      ],
    }
    await expect(hsm.signPsbt(unsigned, other)).rejects.toMatchObject({
      code: 'vault.foreign_psbt',
    })
    const stranger = SeedSigner.fromSeed(new Uint8Array(32).fill(4))
    await expect(stranger.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'signer.wrong_seed',
    })
    const a = await hsm.signPsbt(unsigned, vault)
    const b = await backup.signPsbt(unsigned, vault)
    const both = parsePsbt(combinePsbts(vault, [a.psbt, b.psbt]), networks.regtest)
    const sig = both.data.inputs[0]!.partialSig![0]!
    const bad = Uint8Array.from(sig.signature)
    bad[10] = bad[10]! ^ 1
    both.data.inputs[0]!.partialSig![0] = { pubkey: sig.pubkey, signature: bad }
    expect(() => finalizeVaultPsbt(vault, both.toBase64())).toThrow(
      expect.objectContaining({ code: 'psbt.bad_signature' }),
    )
  })
})
