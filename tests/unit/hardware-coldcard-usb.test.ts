// The Coldcard USB driver against the Coldcard emulator, through its 64-byte HID reports and the
// encrypted (ECDH + AES-CTR) link with its MitM check: fingerprint, xpub, multisig enrolment,
// an address shown on the device, PSBT signing the chain accepts, and the failure states.
import { describe, expect, it } from 'vitest'
import { fundVault } from './hardware-harness'
import { HDKey } from '@scure/bip32'
import { ColdcardEmulator } from '../simulators/hardware/coldcard-emulator'
import { ColdcardUsbSigner, type HidLink } from '../../src/core/hardware/drivers/coldcard-usb'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import { finalizeVaultPsbt, vaultSpendPsbt } from '../../src/core/hardware/multisig/vault-psbt'
import { TestKey } from '../simulators/world/test-keys'

const SEED = new Uint8Array(32).fill(0x55)
const fast = { pollMs: 5, approvalTimeoutMs: 300 }

async function vaultWith(cc: ColdcardUsbSigner): Promise<Vault> {
  return {
    name: 'Coldcard vault',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await cc.cosigner('regtest', 'Coldcard'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).cosigner('regtest', 'Backup'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x33)).cosigner('regtest', 'Other'),
    ],
  }
}

function funded(vault: Vault) {
  return fundVault(vault, [{ index: 2, value: 50_000_000n }])
}

/** A link that records every report on the wire, to check what crossed it in clear. */
function recorded(device: ColdcardEmulator): { link: HidLink; wire: Uint8Array[] } {
  const wire: Uint8Array[] = []
  const inner = device.link()
  return {
    wire,
    link: {
      write: async (r) => {
        wire.push(r.slice())
        await inner.write(r)
      },
      read: async () => {
        const r = await inner.read()
        wire.push(r.slice())
        return r
      },
      close: inner.close,
    },
  }
}

describe('Coldcard over USB (emulated)', () => {
  it('encrypted link: fingerprint, xpub, enrolment, address on screen, signing the chain accepts', async () => {
    const device = new ColdcardEmulator({ seed: SEED })
    const { link, wire } = recorded(device)
    const cc = await ColdcardUsbSigner.connect(link, 'regtest', fast)
    expect(await cc.fingerprint()).toBe(device.fingerprint)
    expect(cc.firmware).toBe('5.4.0')
    const vault = await vaultWith(cc)
    const xpub = (vault.cosigners[0] as { xpub: string }).xpub
    const expected = HDKey.fromMasterSeed(SEED).derive("m/48'/1'/0'/2'")
    expect(
      Buffer.from(
        HDKey.fromExtendedKey(xpub, { public: 0x043587cf, private: 0x04358394 }).publicKey!,
      ),
    ).toEqual(Buffer.from(expected.publicKey!))

    expect(await cc.isRegistered(vault)).toBe(false)
    await cc.registerVault(vault)
    expect(device.screens.find((s) => s.kind === 'enroll')).toMatchObject({ m: 2, n: 3 })
    expect(await cc.isRegistered(vault)).toBe(true)
    expect(await cc.displayAddress(vault, 0, 2)).toBe(vaultAddress(vault, 0, 2).address)
    expect(device.screens.at(-1)).toEqual({
      kind: 'address',
      address: vaultAddress(vault, 0, 2).address,
    })

    const { chain, coins } = funded(vault)
    const unsigned = vaultSpendPsbt(vault, coins, [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 49_990_000n },
    ])
    const byCc = await cc.signPsbt(unsigned, vault)
    expect(byCc.signedInputs).toEqual([0])
    const both = await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).signPsbt(byCc.psbt, vault)
    const final = finalizeVaultPsbt(vault, both.psbt)
    expect(chain.testAccept(final.hex)).toMatchObject({ allowed: true })

    // Nothing but the key exchange crossed the wire in clear: the xpub path, the vault file and
    // the PSBT were encrypted (flag 0x40 on every later report), and no command was plaintext.
    const firstEncrypted = wire.findIndex((r) => (r[0]! & 0x40) !== 0)
    expect(wire.slice(firstEncrypted).every((r) => (r[0]! & 0x40) !== 0)).toBe(true)
    const clearStarts = wire
      .slice(0, firstEncrypted)
      .filter((r, i, all) => (r[0]! & 0x3f) > 0 && (i === 0 || (all[i - 1]![0]! & 0x80) !== 0))
      .map((r) => Buffer.from(r.subarray(1, 5)).toString('latin1'))
    expect(clearStarts).toEqual(['ncry', 'mypb'])
    expect(device.plaintextCommands).toEqual([])
    const onWire = Buffer.concat(wire.map((r) => Buffer.from(r))).toString('latin1')
    expect(onWire).not.toContain('Coldcard vault')
    expect(onWire).not.toContain('upld')
  })

  it('refuses an unenrolled vault, a refusal on the device, and another vault’s PSBT', async () => {
    let approve = true
    const device = new ColdcardEmulator({ seed: SEED, user: () => approve })
    const cc = await ColdcardUsbSigner.connect(device.link(), 'regtest', fast)
    const vault = await vaultWith(cc)
    const { coins } = funded(vault)
    const unsigned = vaultSpendPsbt(vault, coins, [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 49_990_000n },
    ])
    await expect(cc.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'coldcard.refused',
      message: expect.stringContaining('enroll'),
    })
    approve = false
    await expect(cc.registerVault(vault)).rejects.toMatchObject({ code: 'coldcard.not_enrolled' })
    approve = true
    await cc.registerVault(vault)
    approve = false
    await expect(cc.signPsbt(unsigned, vault)).rejects.toMatchObject({ code: 'coldcard.rejected' })
    const other: Vault = {
      ...vault,
      cosigners: [
        vault.cosigners[0]!,
        vault.cosigners[1]!,
        await SeedSigner.fromSeed(new Uint8Array(32).fill(0x44)).cosigner('regtest', 'X'),
      ],
    }
    await expect(cc.signPsbt(unsigned, other)).rejects.toMatchObject({ code: 'vault.foreign_psbt' })
  })

  it('a signature that does not verify is refused and nothing is kept', async () => {
    const device = new ColdcardEmulator({ seed: SEED, signWrongDigest: true })
    const cc = await ColdcardUsbSigner.connect(device.link(), 'regtest', fast)
    const vault = await vaultWith(cc)
    await cc.registerVault(vault)
    const { coins } = funded(vault)
    const unsigned = vaultSpendPsbt(vault, coins, [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 49_990_000n },
    ])
    await expect(cc.signPsbt(unsigned, vault)).rejects.toMatchObject({ code: 'psbt.bad_signature' })
  })

  it('busy, wrong network, old firmware, unplugged, and a tampered link', async () => {
    const busy = new ColdcardEmulator({ seed: SEED, busy: true })
    await expect(ColdcardUsbSigner.connect(busy.link(), 'regtest', fast)).rejects.toMatchObject({
      code: 'coldcard.busy',
      message: expect.stringMatching(/Sparrow/),
    })
    const mainnet = new ColdcardEmulator({ seed: SEED, chain: 'BTC' })
    await expect(ColdcardUsbSigner.connect(mainnet.link(), 'regtest', fast)).rejects.toMatchObject({
      code: 'coldcard.wrong_network',
    })
    const old = new ColdcardEmulator({ seed: SEED, version: '4.1.9' })
    await expect(ColdcardUsbSigner.connect(old.link(), 'regtest', fast)).rejects.toMatchObject({
      code: 'coldcard.firmware_too_old',
      hint: expect.stringContaining('Devices'),
    })
    const gone: HidLink = {
      write: async () => {
        throw new Error('ENODEV: No such device')
      },
      read: async () => new Uint8Array(64),
      close: async () => {},
    }
    await expect(ColdcardUsbSigner.connect(gone, 'regtest', fast)).rejects.toMatchObject({
      code: 'coldcard.unplugged',
    })
    // A program in the middle that swaps the Coldcard's ECDH key for its own cannot produce the
    // master key's signature over the session key it ends up with.
    const device = new ColdcardEmulator({ seed: SEED })
    const inner = device.link()
    const evil = new ColdcardEmulator({ seed: new Uint8Array(32).fill(0x66) })
    const evilLink = evil.link()
    let reports = 0
    const mitm: HidLink = {
      write: async (r) => {
        reports++
        // Everything goes to an impostor that claims the real device's master xpub, which it
        // cannot sign for.
        await evilLink.write(r)
      },
      read: async () => evilLink.read(),
      close: inner.close,
    }
    const realXpub = device.root.publicExtendedKey
    // Patch the impostor to claim the real master key.
    Object.defineProperty(evil, 'xpubAt', {
      value: (path: string) => (path === 'm' ? realXpub : 'unused'),
    })
    await expect(ColdcardUsbSigner.connect(mitm, 'regtest', fast)).rejects.toMatchObject({
      code: 'coldcard.mitm',
    })
    expect(reports).toBeGreaterThan(0)
  })
})
