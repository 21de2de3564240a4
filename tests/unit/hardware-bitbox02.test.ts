// The BitBox02 driver at the bitbox-api boundary. The real library (its WebAssembly) is loaded in
// Node and, with no BitBoxBridge running, answers "BitBoxBridge not found" — which the driver
// turns into the bridge message the Devices page shows. The device itself is the emulator of the
// `PairedBitBox` calls (tests/simulators/hardware/bitbox02-emulator.ts), holding a real seed: a
// 2-of-3 vault of the BitBox02 and two backup seeds is registered, its address shown, and a spend
// signed by the BitBox02 and a backup is accepted by the world chain's validator.
import { describe, expect, it } from 'vitest'
import { Chain } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, TestKey } from '../simulators/world/test-keys'
import { BitBox02Emulator } from '../simulators/hardware/bitbox02-emulator'
import {
  BitBox02Signer,
  bitboxError,
  connectBitBox02,
} from '../../src/core/hardware/bitbox02/bitbox02-signer'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { hexToBytes } from '@noble/hashes/utils.js'
import { keyFingerprint, vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import {
  combinePsbts,
  finalizeVaultPsbt,
  vaultSpendPsbt,
} from '../../src/core/hardware/multisig/vault-psbt'

const DEVICE_WORDS = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const BACKUP_WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'

const G = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'

async function setup() {
  const emulator = new BitBox02Emulator(DEVICE_WORDS)
  const bitbox = new BitBox02Signer(emulator)
  const backup = SeedSigner.fromWords(BACKUP_WORDS)
  const vault: Vault = {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await bitbox.cosigner('regtest', 'BitBox02'),
      await backup.cosigner('regtest', 'Backup words'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(5)).cosigner('regtest', 'Other'),
    ],
  }
  return { emulator, bitbox, backup, vault }
}

function spend(vault: Vault) {
  const chain = new Chain()
  const alice = TestKey.fromLabel('alice')
  const fund = alice.spend(
    [fundedKey(chain, alice)],
    [{ script: vaultAddress(vault, 0, 0).script, value: 100_000_000n }],
    1,
  )
  chain.submit(fund)
  chain.mine(1, BURN_SCRIPT)
  const psbt = vaultSpendPsbt(
    vault,
    [
      {
        txid: fund.getId(),
        vout: 0,
        value: 100_000_000n,
        chain: 0,
        index: 0,
        prevTxHex: fund.toHex(),
      },
    ],
    [{ address: TestKey.fromLabel('bob').p2wpkh().address, value: 60_000_000n }],
    { index: 0, value: 39_990_000n },
  )
  return { chain, psbt }
}

describe('bitbox-api in Node', () => {
  it('loads (WebAssembly) and says plainly that BitBoxBridge is needed', async () => {
    const codes: string[] = []
    await expect(connectBitBox02((c) => codes.push(c))).rejects.toMatchObject({
      code: 'bitbox02.needs_bridge',
    })
    expect(codes).toEqual([])
  })

  it('its own user-abort test decides "declined on the device"', async () => {
    expect(await bitboxError({ code: 'bitbox-user-abort', message: 'aborted' })).toMatchObject({
      code: 'signer.rejected',
    })
    expect(
      await bitboxError({ code: 'bitbox-invalid-input', message: 'invalid input' }),
    ).toMatchObject({ code: 'bitbox02.failure' })
  })
})

describe('BitBox02 driver against the emulator', () => {
  it('gives the seed’s fingerprint and BIP48 xpub, and checks firmware', async () => {
    const { emulator, bitbox, vault } = await setup()
    expect(await bitbox.fingerprint()).toBe(emulator.fingerprint)
    expect(vault.cosigners[0]).toEqual(
      await SeedSigner.fromWords(DEVICE_WORDS).cosigner('regtest', 'BitBox02'),
    )
    expect(bitbox.firmwareProblem()).toBeUndefined()
    expect(new BitBox02Signer(new BitBox02Emulator(DEVICE_WORDS, '9.12.0')).firmwareProblem()).toBe(
      'This BitBox02 runs firmware 9.12.0; Flash Box needs 9.15.0 or newer. Update it in the BitBoxApp, then plug it in here again.',
    )
  })

  it('registers the vault once, then shows its address on the device', async () => {
    const { emulator, bitbox, vault } = await setup()
    const shown = await bitbox.displayAddress(vault, 0, 2)
    expect(shown).toBe(vaultAddress(vault, 0, 2).address)
    expect(emulator.screen).toEqual(['register 2-of-3 “savings”', `address ${shown}`])
    await bitbox.displayAddress(vault, 1, 0)
    expect(emulator.screen.filter((s) => s.startsWith('register'))).toHaveLength(1)
  })

  it('signs a vault spend with the backup; the chain accepts it', async () => {
    const { emulator, bitbox, backup, vault } = await setup()
    const { chain, psbt } = spend(vault)
    const byDevice = await bitbox.signPsbt(psbt, vault)
    expect(byDevice.signedInputs).toEqual([0])
    expect(emulator.screen.slice(-2)).toEqual([
      `output ${TestKey.fromLabel('bob').p2wpkh().address} 60000000`,
      'fee 10000',
    ])
    expect(() => finalizeVaultPsbt(vault, byDevice.psbt)).toThrow(
      expect.objectContaining({ code: 'psbt.needs_signatures' }),
    )
    const byBackup = await backup.signPsbt(psbt, vault)
    const final = finalizeVaultPsbt(vault, combinePsbts(vault, [byDevice.psbt, byBackup.psbt]))
    expect(chain.testAccept(final.hex).allowed).toBe(true)
  })

  it('declined on the device, the wrong device, a fixed HSM key: plain refusals', async () => {
    const { emulator, bitbox, vault } = await setup()
    const { psbt } = spend(vault)
    await bitbox.displayAddress(vault, 0, 0)
    emulator.declineNext = true
    await expect(bitbox.signPsbt(psbt, vault)).rejects.toMatchObject({ code: 'signer.rejected' })

    const other = new BitBox02Signer(new BitBox02Emulator(BACKUP_WORDS.replace('about', 'cactus')))
    await expect(other.signPsbt(psbt, vault)).rejects.toMatchObject({
      code: 'signer.wrong_device',
    })

    const withHsm: Vault = {
      ...vault,
      cosigners: [
        vault.cosigners[0]!,
        vault.cosigners[1]!,
        {
          kind: 'fixed',
          name: 'HSM',
          fingerprint: keyFingerprint(hexToBytes(G)),
          publicKey: G,
        },
      ],
    }
    await expect(bitbox.displayAddress(withHsm, 0, 0)).rejects.toMatchObject({
      code: 'bitbox02.fixed_key',
    })
  })
})
