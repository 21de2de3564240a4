// The Ledger driver (ledger-bitcoin's AppClient on the box's USB transport) against the Ledger
// Bitcoin app emulator, through Ledger's 64-byte HID framing on a WebUSB-shaped device:
// fingerprint, xpub, BIP388 registration with the HMAC kept and reused, addresses shown and
// checked, PSBT signing (single-sig wpkh and the 2-of-3 vault), and each failure state.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundVault } from './hardware-harness'
import { HDKey } from '@scure/bip32'
import { networks, payments, Psbt, Transaction } from 'bitcoinjs-lib'
import { LedgerEmulator } from '../simulators/hardware/ledger-emulator'
import { LedgerUsbTransport } from '../../src/core/hardware/drivers/ledger-usb'
import { LedgerSigner } from '../../src/core/hardware/drivers/ledger'
import { LedgerPolicyStore } from '../../src/core/hardware/drivers/ledger-policies'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { keyFingerprint, vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import { finalizeVaultPsbt, vaultSpendPsbt } from '../../src/core/hardware/multisig/vault-psbt'
import { Chain } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, TestKey } from '../simulators/world/test-keys'

const LEDGER_SEED = new Uint8Array(32).fill(0x11)
let dir: string
let store: LedgerPolicyStore

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ledger-test-'))
  store = new LedgerPolicyStore(dir)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function connect(device: LedgerEmulator, network: Vault['network'] = 'regtest') {
  const transport = await LedgerUsbTransport.openDevice(device.usbDevice())
  return { transport, signer: await LedgerSigner.connect(transport, network, store) }
}

async function vaultWith(ledger: LedgerSigner): Promise<Vault> {
  const backup = SeedSigner.fromSeed(new Uint8Array(32).fill(0x22))
  const other = SeedSigner.fromSeed(new Uint8Array(32).fill(0x33))
  return {
    name: 'Shop savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await ledger.cosigner('regtest', 'Ledger'),
      await backup.cosigner('regtest', 'Backup words'),
      await other.cosigner('regtest', 'Other device'),
    ],
  }
}

function fundedVault(vault: Vault) {
  return fundVault(vault, [
    { index: 0, value: 60_000_000n },
    { index: 1, value: 40_000_000n },
  ])
}

describe('Ledger driver against the Bitcoin app emulator', () => {
  it('reads the fingerprint and an xpub that match the seed', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const { signer, transport } = await connect(device)
    const root = HDKey.fromMasterSeed(LEDGER_SEED)
    expect(await signer.fingerprint()).toBe(device.fingerprint)
    const c = await signer.cosigner('regtest', 'Ledger')
    expect(c).toMatchObject({ kind: 'xpub', path: 'm/48h/1h/0h/2h' })
    const expected = root.derive("m/48'/1'/0'/2'")
    const got = HDKey.fromExtendedKey((c as { xpub: string }).xpub, {
      public: 0x043587cf,
      private: 0x04358394,
    })
    expect(Buffer.from(got.publicKey!).toString('hex')).toBe(
      Buffer.from(expected.publicKey!).toString('hex'),
    )
    expect(signer.app).toEqual({ name: 'Bitcoin Test', version: '2.4.1' })
    await transport.close()
  })

  it('registers the 2-of-3 vault once, keeps the HMAC (0600) and reuses it', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const first = await connect(device)
    const vault = await vaultWith(first.signer)
    await expect(first.signer.displayAddress(vault, 0, 0)).rejects.toMatchObject({
      code: 'ledger.not_registered',
    })
    expect(first.signer.isRegistered(vault)).toBe(false)
    await first.signer.registerVault(vault)
    const registered = device.screens.filter((s) => s.kind === 'register')
    expect(registered).toHaveLength(1)
    expect(registered[0]).toMatchObject({
      name: 'Shop savings',
      template: 'wsh(sortedmulti(2,@0/**,@1/**,@2/**))',
    })
    expect(statSync(join(dir, 'secrets', 'ledger-policies.json')).mode & 0o777).toBe(0o600)
    await first.transport.close()

    // A new session (the box restarted): no second registration, the address is shown and
    // checked against the box's own derivation.
    const again = await connect(device)
    expect(again.signer.isRegistered(vault)).toBe(true)
    const shown = await again.signer.displayAddress(vault, 0, 5)
    expect(shown).toBe(vaultAddress(vault, 0, 5).address)
    const onScreen = device.screens.at(-1)!
    expect(onScreen.kind).toBe('address')
    // The Bitcoin Test app shows the testnet form of the same script.
    expect((onScreen as { address: string }).address).toMatch(/^tb1q/)
    expect(device.screens.filter((s) => s.kind === 'register')).toHaveLength(1)
    await again.transport.close()
  })

  it('signs a vault spend that, with the backup key, the chain accepts', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const { signer, transport } = await connect(device)
    const vault = await vaultWith(signer)
    if (!signer.isRegistered(vault)) await signer.registerVault(vault)
    const { chain, coins } = fundedVault(vault)
    const bob = TestKey.fromLabel('bob')
    const unsigned = vaultSpendPsbt(
      vault,
      coins,
      [{ address: bob.p2wpkh().address, value: 70_000_000n }],
      { index: 0, value: 29_990_000n },
    )
    const byLedger = await signer.signPsbt(unsigned, vault)
    expect(byLedger.signedInputs).toEqual([0, 1])
    const sign = device.screens.at(-1)!
    // The device showed the payment and the fee, not the change.
    expect(sign).toMatchObject({
      kind: 'sign',
      outputs: [{ amount: 70_000_000n }],
      fee: 10_000n,
    })
    expect(() => finalizeVaultPsbt(vault, byLedger.psbt)).toThrow(
      expect.objectContaining({ code: 'psbt.needs_signatures' }),
    )
    // The Ledger's signature alone, forced into a witness by hand, is refused by the chain.
    const one = Psbt.fromBase64(byLedger.psbt, { network: networks.regtest })
    const lone = new Transaction()
    lone.version = one.version
    for (const i of one.txInputs) lone.addInput(i.hash, i.index, i.sequence)
    for (const o of one.txOutputs) lone.addOutput(o.script, o.value)
    one.data.inputs.forEach((input, i) =>
      lone.setWitness(i, [
        new Uint8Array(0),
        input.partialSig![0]!.signature,
        new Uint8Array(0),
        input.witnessScript!,
      ]),
    )
    const refused = chain.testAccept(lone)
    expect(refused.allowed ? 'allowed' : refused.reason).toMatch(
      /^mempool-script-verify-flag-failed/,
    )
    const backup = SeedSigner.fromSeed(new Uint8Array(32).fill(0x22))
    const both = await backup.signPsbt(byLedger.psbt, vault)
    const final = finalizeVaultPsbt(vault, both.psbt)
    expect(chain.testAccept(final.hex)).toMatchObject({ allowed: true })
    expect(chain.submit(final.hex)).toBe(final.txid)
    await transport.close()
  })

  it('signs single-sig BIP84 (a default policy) and shows its address', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const { signer, transport } = await connect(device)
    const root = HDKey.fromMasterSeed(LEDGER_SEED)
    const child = root.derive("m/84'/1'/0'/0/3")
    const p2wpkh = payments.p2wpkh({ pubkey: child.publicKey!, network: networks.regtest })
    expect(await signer.displayWpkhAddress(0, 0, 3)).toBe(p2wpkh.address)

    const chain = new Chain()
    const alice = TestKey.fromLabel('alice')
    const fund = alice.spend(
      [fundedKey(chain, alice)],
      [{ script: p2wpkh.output!, value: 5_000_000n }],
      1,
    )
    chain.submit(fund)
    chain.mine(1, BURN_SCRIPT)
    const psbt = new Psbt({ network: networks.regtest })
    psbt.addInput({
      hash: fund.getId(),
      index: 0,
      nonWitnessUtxo: fund.toBuffer(),
      witnessUtxo: { script: p2wpkh.output!, value: 5_000_000n },
      bip32Derivation: [
        {
          masterFingerprint: Buffer.from(device.fingerprint, 'hex'),
          path: "m/84'/1'/0'/0/3",
          pubkey: child.publicKey!,
        },
      ],
    })
    psbt.addOutput({ address: TestKey.fromLabel('bob').p2wpkh().address, value: 4_990_000n })
    const r = await signer.signWpkhPsbt(psbt.toBase64())
    expect(r.signedInputs).toEqual([0])
    const signed = Psbt.fromBase64(r.psbt, { network: networks.regtest })
    signed.finalizeAllInputs()
    const tx: Transaction = signed.extractTransaction()
    expect(chain.testAccept(tx.toHex())).toMatchObject({ allowed: true })
    await transport.close()
  })
})

describe('Ledger states, each in plain words', () => {
  it('locked, dashboard, another app, the mainnet app on regtest, and an app too old', async () => {
    const cases: [Partial<ConstructorParameters<typeof LedgerEmulator>[0]>, string, RegExp][] = [
      [{ locked: true }, 'ledger.locked', /locked/],
      [{ appName: 'BOLOS' }, 'ledger.wrong_app', /dashboard/],
      [{ appName: 'Ethereum' }, 'ledger.wrong_app', /“Ethereum”/],
      [{ appName: 'Bitcoin' }, 'ledger.wrong_app', /needs “Bitcoin Test”/],
      [{ appVersion: '2.0.6' }, 'ledger.app_too_old', /2\.0\.6.*2\.1\.0/],
    ]
    for (const [opts, code, message] of cases) {
      const device = new LedgerEmulator({ seed: LEDGER_SEED, ...opts })
      const transport = await LedgerUsbTransport.openDevice(device.usbDevice())
      const err = await LedgerSigner.connect(transport, 'regtest', store).catch((e: unknown) => e)
      expect(err).toMatchObject({ code, message: expect.stringMatching(message) })
      expect((err as { hint: string }).hint).toMatch(/Devices/)
      await transport.close()
    }
  })

  it('an app that is closed after connecting answers 0x6e00: the wrong app', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const { signer, transport } = await connect(device)
    device.appName = 'Ethereum'
    await expect(signer.cosigner('regtest', 'L')).rejects.toMatchObject({
      code: 'ledger.wrong_app',
    })
    await transport.close()
  })

  it('busy: the interface is claimed by another program, named as Ledger Live', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED, claimedByOther: true })
    await expect(LedgerUsbTransport.openDevice(device.usbDevice())).rejects.toMatchObject({
      code: 'ledger.busy',
      message: expect.stringContaining('Ledger Live'),
    })
  })

  it('rejected on the device: registration, address and signing each leave nothing behind', async () => {
    let approve = true
    const device = new LedgerEmulator({ seed: LEDGER_SEED, user: () => approve })
    const { signer, transport } = await connect(device)
    const vault = { ...(await vaultWith(signer)), name: 'Rejected vault' }
    approve = false
    await expect(signer.registerVault(vault)).rejects.toMatchObject({ code: 'ledger.rejected' })
    expect(signer.isRegistered(vault)).toBe(false)
    approve = true
    await signer.registerVault(vault)
    approve = false
    await expect(signer.displayAddress(vault, 0, 0)).rejects.toMatchObject({
      code: 'ledger.rejected',
    })
    const { coins } = fundedVault(vault)
    const unsigned = vaultSpendPsbt(vault, coins.slice(0, 1), [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 59_990_000n },
    ])
    await expect(signer.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'ledger.rejected',
    })
    await transport.close()
  })

  it('unplugged mid-signing: a plain error, nothing signed', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const usb = device.usbDevice()
    const transport = await LedgerUsbTransport.openDevice(usb)
    const signer = await LedgerSigner.connect(transport, 'regtest', store)
    const vault = await vaultWith(signer)
    if (!signer.isRegistered(vault)) await signer.registerVault(vault)
    const { coins } = fundedVault(vault)
    const unsigned = vaultSpendPsbt(vault, coins.slice(0, 1), [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 59_990_000n },
    ])
    device.user = () => {
      usb.unplugged = true
      return true
    }
    await expect(signer.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'ledger.unplugged',
    })
  })

  it('a signature that does not verify is refused: nothing enters the PSBT to broadcast', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED, signWrongDigest: true })
    const { signer, transport } = await connect(device)
    const vault = await vaultWith(signer)
    if (!signer.isRegistered(vault)) await signer.registerVault(vault)
    const { coins } = fundedVault(vault)
    const unsigned = vaultSpendPsbt(vault, coins.slice(0, 1), [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 59_990_000n },
    ])
    await expect(signer.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'psbt.bad_signature',
    })
    await transport.close()
  })

  it('the wrong Ledger (another seed) and a vault with a fixed HSM key are refused in words', async () => {
    const right = new LedgerEmulator({ seed: LEDGER_SEED })
    const a = await connect(right)
    const vault = await vaultWith(a.signer)
    await a.transport.close()
    const wrong = new LedgerEmulator({ seed: new Uint8Array(32).fill(0x99) })
    const b = await connect(wrong)
    const { coins } = fundedVault(vault)
    const unsigned = vaultSpendPsbt(vault, coins.slice(0, 1), [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 59_990_000n },
    ])
    await expect(b.signer.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'signer.wrong_device',
      message: expect.stringContaining(wrong.fingerprint),
    })
    await expect(b.signer.registerVault(vault)).rejects.toMatchObject({
      code: 'signer.wrong_device',
    })
    const hsmKey = HDKey.fromMasterSeed(new Uint8Array(32).fill(0x5a)).publicKey!
    const withHsm: Vault = {
      ...vault,
      cosigners: [
        vault.cosigners[0]!,
        vault.cosigners[1]!,
        {
          kind: 'fixed',
          name: 'HSM',
          publicKey: Buffer.from(hsmKey).toString('hex'),
          fingerprint: keyFingerprint(hsmKey),
        },
      ],
    }
    await expect(a.signer.registerVault(withHsm)).rejects.toMatchObject({
      code: 'ledger.vault_unsupported',
    })
    expect(wrong.screens).toEqual([])
    await b.transport.close()
  })

  it('a PSBT of another vault is refused before the device is asked', async () => {
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const { signer, transport } = await connect(device)
    const vault = await vaultWith(signer)
    const other: Vault = {
      ...vault,
      cosigners: [
        vault.cosigners[0]!,
        vault.cosigners[1]!,
        await SeedSigner.fromSeed(new Uint8Array(32).fill(0x44)).cosigner('regtest', 'Stranger'),
      ],
    }
    const { coins } = fundedVault(other)
    const unsigned = vaultSpendPsbt(other, coins.slice(0, 1), [
      { address: TestKey.fromLabel('bob').p2wpkh().address, value: 59_990_000n },
    ])
    const before = device.screens.length
    await expect(signer.signPsbt(unsigned, vault)).rejects.toMatchObject({
      code: 'vault.foreign_psbt',
    })
    expect(device.screens.length).toBe(before)
    await transport.close()
  })
})
