// The Trezor driver against the Trezor emulator at the USB packet boundary: 64-byte packets in
// protocol v1 and Trezor's protobuf messages, a real BIP32 seed on the emulator. A 2-of-3 vault of
// the Trezor, a SoftHSM2 key (real PKCS#11) and backup words is funded on the world chain; the
// Trezor and the HSM spend it and the chain's validator accepts; the Trezor alone is refused.
// Failures in plain words: declined on the device, unplugged mid-signing, the wrong Trezor, locked,
// a PSBT from another vault, old firmware.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundVault } from './hardware-harness'
import { networks } from 'bitcoinjs-lib'
import { TestKey } from '../simulators/world/test-keys'
import { createSoftHsmToken, type SoftHsmToken } from '../setup/softhsm'
import { TrezorEmulator } from '../simulators/hardware/trezor-emulator'
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
import { firmwareTooOld, TrezorSigner } from '../../src/core/hardware/trezor/trezor-signer'
import { encodePackets, readMessage } from '../../src/core/hardware/trezor/trezor-wire'

const TREZOR_WORDS = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const BACKUP_WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'

let token: SoftHsmToken
let session: TokenSession
let hsm: HsmSigner
let emulator: TrezorEmulator
let trezor: TrezorSigner
let vault: Vault

beforeAll(async () => {
  token = createSoftHsmToken()
  session = TokenSession.open({
    modulePath: token.modulePath,
    tokenSerial: token.serial,
    pin: token.pin,
  })
  hsm = new HsmSigner(session, generateSecp256k1Key(session, 'vault'))
  emulator = new TrezorEmulator({ words: TREZOR_WORDS })
  trezor = TrezorSigner.over(emulator.link(), 'regtest')
  vault = {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await trezor.cosigner('regtest', 'Trezor'),
      await hsm.cosigner('regtest', 'HSM'),
      await SeedSigner.fromWords(BACKUP_WORDS).cosigner('regtest', 'Backup words'),
    ],
  }
})
afterAll(() => {
  session?.close()
  token?.dispose()
})

function fundedVault() {
  const { chain, coins } = fundVault(vault, [
    { index: 0, value: 100_000_000n },
    { index: 1, value: 100_000_000n },
  ])
  const bob = TestKey.fromLabel('bob')
  const psbt = vaultSpendPsbt(
    vault,
    coins,
    [{ address: bob.p2wpkh().address, value: 150_000_000n }],
    { index: 0, value: 49_990_000n },
  )
  return { chain, psbt, bob }
}

describe('Trezor wire framing (protocol v1)', () => {
  it('cuts a message into 64-byte packets and joins them again', async () => {
    const body = Uint8Array.from({ length: 200 }, (_, i) => i)
    const packets = encodePackets(22, body)
    // 9 header bytes + 200 = 209: 64 in the first packet, 63 in each of the next three.
    expect(packets.map((p) => p.length)).toEqual([64, 64, 64, 64])
    expect([...packets[0]!.subarray(0, 9)]).toEqual([0x3f, 0x23, 0x23, 0, 22, 0, 0, 0, 200])
    expect(packets.slice(1).every((p) => p[0] === 0x3f)).toBe(true)
    const queue = [...packets]
    const back = await readMessage(async () => queue.shift()!)
    expect(back.messageType).toBe(22)
    expect([...back.body]).toEqual([...body])
    expect(queue).toHaveLength(0)
  })

  it('refuses packets that are not Trezor messages', async () => {
    await expect(readMessage(async () => new Uint8Array(64))).rejects.toMatchObject({
      code: 'trezor.protocol',
    })
  })
})

describe('Trezor driver against the emulator', () => {
  it('reads the model and firmware, and names too-old firmware plainly', async () => {
    const f = await trezor.features()
    expect(f).toMatchObject({
      modelName: 'Trezor Model T',
      version: [2, 8, 7],
      unlocked: true,
      initialized: true,
    })
    expect(firmwareTooOld(f)).toBeUndefined()
    const old = TrezorSigner.over(
      new TrezorEmulator({ words: TREZOR_WORDS, model: '1', firmware: [1, 9, 4] }).link(),
      'regtest',
    )
    expect(firmwareTooOld(await old.features())).toBe(
      'This Trezor Model One runs firmware 1.9.4; Flash Box needs 1.11.1 or newer. Update it in Trezor Suite, then plug it in here again.',
    )
  })

  it('gives the seed’s fingerprint and the same BIP48 xpub a software wallet derives', async () => {
    const reference = await SeedSigner.fromWords(TREZOR_WORDS).cosigner('regtest', 'Trezor')
    expect(await trezor.fingerprint()).toBe(emulator.fingerprint)
    expect(vault.cosigners[0]).toEqual(reference)
  })

  it('shows the vault address on the device and it equals the box’s', async () => {
    const shown = await trezor.displayAddress(vault, 0, 3)
    expect(shown).toBe(vaultAddress(vault, 0, 3).address)
    expect(emulator.screen.at(-1)).toBe(`address ${shown}`)
  })

  it('signs a vault spend with the HSM; the chain accepts it and refuses one signature', async () => {
    const { chain, psbt, bob } = fundedVault()
    emulator.screen.length = 0
    const byTrezor = await trezor.signPsbt(psbt, vault)
    expect(byTrezor.signedInputs).toEqual([0, 1])
    // The payment and the fee were on the screen; the change (back to the vault) was not.
    expect(emulator.screen).toEqual([`output ${bob.p2wpkh().address} 150000000`, 'total 10000 fee'])
    expect(emulator.received).toContain('TxAck')
    expect(() => finalizeVaultPsbt(vault, byTrezor.psbt)).toThrow(
      expect.objectContaining({ code: 'psbt.needs_signatures' }),
    )
    const byHsm = await hsm.signPsbt(psbt, vault)
    const final = finalizeVaultPsbt(vault, combinePsbts(vault, [byTrezor.psbt, byHsm.psbt]))
    expect(chain.testAccept(final.hex).allowed).toBe(true)
    expect(chain.submit(final.hex)).toBe(final.txid)
  })

  it('declined on the device: a plain error and nothing signed', async () => {
    const { psbt } = fundedVault()
    emulator.declineNext = true
    await expect(trezor.signPsbt(psbt, vault)).rejects.toMatchObject({
      code: 'signer.rejected',
      message: 'The action was declined on the Trezor. Nothing was signed.',
    })
    // The device is usable again afterwards.
    expect((await trezor.signPsbt(psbt, vault)).signedInputs).toEqual([0, 1])
  })

  it('unplugged mid-signing: a plain error', async () => {
    const { psbt } = fundedVault()
    const e = new TrezorEmulator({ words: TREZOR_WORDS })
    const t = TrezorSigner.over(e.link(), 'regtest')
    await t.fingerprint()
    e.unplugAfter = 5
    await expect(t.signPsbt(psbt, vault)).rejects.toMatchObject({ code: 'device.unplugged' })
  })

  it('the wrong Trezor (another seed): refused before signing', async () => {
    const { psbt } = fundedVault()
    const other = new TrezorEmulator({ words: BACKUP_WORDS.replace('about', 'cactus') })
    const t = TrezorSigner.over(other.link(), 'regtest')
    await expect(t.signPsbt(psbt, vault)).rejects.toMatchObject({ code: 'signer.wrong_device' })
    expect(other.received).not.toContain('SignTx')
  })

  it('locked: says to unlock it, and works once unlocked', async () => {
    const e = new TrezorEmulator({ words: TREZOR_WORDS, locked: true })
    const t = TrezorSigner.over(e.link(), 'regtest')
    expect((await t.features()).unlocked).toBe(false)
    await expect(t.fingerprint()).rejects.toMatchObject({ code: 'trezor.locked' })
    e.unlock()
    expect(await t.fingerprint()).toBe(e.fingerprint)
  })

  it('a PSBT from another vault is refused before the device sees it', async () => {
    const other: Vault = {
      ...vault,
      cosigners: [
        vault.cosigners[0]!,
        vault.cosigners[1]!,
        await SeedSigner.fromSeed(new Uint8Array(32).fill(7)).cosigner('regtest', 'Other'),
      ],
    }
    const { psbt } = fundedVault()
    const before = emulator.received.length
    await expect(trezor.signPsbt(psbt, other)).rejects.toMatchObject({
      code: 'vault.foreign_psbt',
    })
    expect(emulator.received.slice(before)).not.toContain('SignTx')
    expect(parsePsbt(psbt, networks.regtest).data.inputs[0]!.partialSig).toBeUndefined()
  })
})
