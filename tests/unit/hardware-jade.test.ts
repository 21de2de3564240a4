// The Jade driver against the Jade emulator: CBOR RPC over a byte stream, unlocking through the
// box's PIN-server relay to a real local HTTP PIN server, fingerprint and xpub, multisig
// registration, an address confirmed on the device, sign_psbt with extended replies, failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundVault } from './hardware-harness'
import { HDKey } from '@scure/bip32'
import { JadeEmulator, JadePinServer } from '../simulators/hardware/jade-emulator'
import { httpPinRelay, JadeSigner } from '../../src/core/hardware/drivers/jade'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import { finalizeVaultPsbt, vaultSpendPsbt } from '../../src/core/hardware/multisig/vault-psbt'
import { Chain } from '../simulators/world/chain'
import { fundedKey, TestKey } from '../simulators/world/test-keys'

const SEED = new Uint8Array(32).fill(0x77)
let pinServer: JadePinServer

beforeAll(async () => {
  pinServer = new JadePinServer()
  await pinServer.start()
})
afterAll(() => pinServer.stop())

const relay = () => httpPinRelay([pinServer.url])

async function vaultWith(jade: JadeSigner): Promise<Vault> {
  return {
    name: 'Jade vault',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await jade.cosigner('regtest', 'Jade'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).cosigner('regtest', 'Backup'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x33)).cosigner('regtest', 'Other'),
    ],
  }
}

describe('Jade over its serial CBOR RPC (emulated)', () => {
  it('unlocks through the PIN server relay, registers, shows an address, and signs', async () => {
    const device = new JadeEmulator({ seed: SEED, pin: '246810', pinServer })
    const before = pinServer.requests
    const jade = await JadeSigner.connect(device.stream(), 'regtest', relay())
    expect(pinServer.requests).toBe(before + 1)
    expect(device.state).toBe('READY')
    expect(await jade.fingerprint()).toBe(device.fingerprint)
    const vault = await vaultWith(jade)
    const expected = HDKey.fromMasterSeed(SEED).derive("m/48'/1'/0'/2'")
    const c = vault.cosigners[0] as { xpub: string }
    expect(
      Buffer.from(
        HDKey.fromExtendedKey(c.xpub, { public: 0x043587cf, private: 0x04358394 }).publicKey!,
      ),
    ).toEqual(Buffer.from(expected.publicKey!))

    expect(await jade.registerVault(vault)).toBe('Jadevault')
    expect(device.screens.find((s) => s.kind === 'register')).toMatchObject({
      threshold: 2,
      signers: 3,
    })
    expect(await jade.displayAddress(vault, 0, 4)).toBe(vaultAddress(vault, 0, 4).address)

    // Five inputs make the signed PSBT long enough to come back in several pieces.
    const { chain, coins } = fundVault(
      vault,
      [0, 1, 2, 3, 4].map((index) => ({ index, value: 10_000_000n })),
    )
    const unsigned = vaultSpendPsbt(vault, coins, [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 49_980_000n },
    ])
    expect(Buffer.from(unsigned, 'base64').length).toBeGreaterThan(1024)
    const byJade = await jade.signPsbt(unsigned, vault)
    expect(byJade.signedInputs).toEqual([0, 1, 2, 3, 4])
    const both = await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).signPsbt(
      byJade.psbt,
      vault,
    )
    const final = finalizeVaultPsbt(vault, both.psbt)
    expect(chain.testAccept(final.hex)).toMatchObject({ allowed: true })
  })

  it('a wrong PIN is refused in words, and three wipe the Jade', async () => {
    const device = new JadeEmulator({
      seed: SEED,
      pin: '246810',
      pinServer,
      typedPin: () => '1111',
    })
    for (let i = 0; i < 3; i++)
      await expect(JadeSigner.connect(device.stream(), 'regtest', relay())).rejects.toMatchObject({
        code: 'jade.wrong_pin',
        message: expect.stringContaining('three wrong PINs'),
      })
    await expect(JadeSigner.connect(device.stream(), 'regtest', relay())).rejects.toMatchObject({
      code: 'jade.not_set_up',
    })
  })

  it('refuses a PIN server nobody allowed, another network, old firmware, and a decline', async () => {
    const a = new JadeEmulator({ seed: SEED, pin: '1', pinServer })
    const before = pinServer.requests
    await expect(
      JadeSigner.connect(
        a.stream(),
        'regtest',
        httpPinRelay(['https://jadepin.blockstream.com/get_pin']),
      ),
    ).rejects.toMatchObject({ code: 'jade.pinserver_not_allowed' })
    expect(pinServer.requests).toBe(before)
    const main = new JadeEmulator({ seed: SEED, pin: '1', pinServer, networks: 'MAIN' })
    await expect(JadeSigner.connect(main.stream(), 'regtest', relay())).rejects.toMatchObject({
      code: 'jade.wrong_network',
    })
    const old = new JadeEmulator({ seed: SEED, pin: '1', pinServer, version: '0.1.40' })
    await expect(JadeSigner.connect(old.stream(), 'regtest', relay())).rejects.toMatchObject({
      code: 'jade.firmware_too_old',
      hint: expect.stringContaining('Devices'),
    })
    let approve = true
    const d = new JadeEmulator({ seed: SEED, pin: '1', pinServer, user: () => approve })
    const jade = await JadeSigner.connect(d.stream(), 'regtest', relay())
    const vault = await vaultWith(jade)
    approve = false
    await expect(jade.registerVault(vault)).rejects.toMatchObject({ code: 'jade.rejected' })
    // Not registered: the Jade refuses to sign for the multisig.
    const chain = new Chain()
    const alice = TestKey.fromLabel('alice')
    const fund = alice.spend(
      [fundedKey(chain, alice)],
      [{ script: vaultAddress(vault, 0, 0).script, value: 10_000_000n }],
      1,
    )
    const unsigned = vaultSpendPsbt(
      vault,
      [
        {
          txid: fund.getId(),
          vout: 0,
          value: 10_000_000n,
          chain: 0,
          index: 0,
          prevTxHex: fund.toHex(),
        },
      ],
      [{ address: TestKey.fromLabel('bob').p2wpkh().address, value: 9_990_000n }],
    )
    approve = true
    await expect(jade.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'jade.refused',
      message: expect.stringContaining('not registered'),
    })
    await jade.registerVault(vault)
    approve = false
    await expect(jade.signPsbt(unsigned, vault)).rejects.toMatchObject({ code: 'jade.rejected' })
  })
})
