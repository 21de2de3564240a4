// The Ledger registrations (BIP388 policy HMACs, vault names, which device holds which policy)
// sealed under the box key: nothing readable at rest, the file the same across a password change,
// a locked box refuses before the owner is asked to approve anything on the device, and a plain
// file of the first version is sealed on unlock.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LedgerEmulator } from '../simulators/hardware/ledger-emulator'
import { LedgerUsbTransport } from '../../src/core/hardware/drivers/ledger-usb'
import { LedgerSigner } from '../../src/core/hardware/drivers/ledger'
import {
  LedgerPolicyStore,
  type LedgerPolicyBox,
} from '../../src/core/hardware/drivers/ledger-policies'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import type { Vault } from '../../src/core/hardware/multisig/vault'
import { BoxKey } from '../../src/core/secrets/box-key'

const LEDGER_SEED = new Uint8Array(32).fill(0x11)
let dir: string
let path: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ledger-sealed-'))
  path = join(dir, 'secrets', 'ledger-policies.json')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

async function connect(device: LedgerEmulator, box: LedgerPolicyBox) {
  const transport = await LedgerUsbTransport.openDevice(device.usbDevice())
  const store = new LedgerPolicyStore(dir, box)
  return { transport, signer: await LedgerSigner.connect(transport, 'regtest', store) }
}

async function vaultWith(ledger: LedgerSigner): Promise<Vault> {
  return {
    name: 'Shop savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await ledger.cosigner('regtest', 'Ledger'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).cosigner('regtest', 'Backup'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x33)).cosigner('regtest', 'Other'),
    ],
  }
}

describe('Ledger registrations under the box key', () => {
  it('seals the HMAC, survives a password change, and refuses while locked before the device', async () => {
    const box = new BoxKey(dir)
    await box.enterPassword('owner password 1')
    const device = new LedgerEmulator({ seed: LEDGER_SEED })
    const first = await connect(device, box)
    const vault = await vaultWith(first.signer)
    const policyId = await first.signer.registerVault(vault)
    await first.transport.close()
    const hmac = new LedgerPolicyStore(dir, box).hmac(device.fingerprint, policyId)!
    expect(hmac).toHaveLength(32)
    const before = readFileSync(path)
    const text = before.toString()
    expect(JSON.parse(text)).toMatchObject({ version: 2, purpose: 'hardware.ledger-policies' })
    expect(text).not.toContain(Buffer.from(hmac).toString('hex'))
    expect(text).not.toContain('Shop savings')
    expect(text).not.toContain(policyId)
    expect(text).not.toContain(device.fingerprint)
    expect(statSync(path).mode & 0o777).toBe(0o600)

    await box.changePassword('owner password 1', 'owner password 2')
    expect(readFileSync(path).equals(before)).toBe(true)

    // After a restart, locked: no address, no new registration asked of the owner.
    const locked = new BoxKey(dir)
    const again = await connect(device, locked)
    const screens = device.screens.length
    await expect(again.signer.displayAddress(vault, 0, 0)).rejects.toMatchObject({
      code: 'box.locked',
    })
    await expect(again.signer.registerVault(vault)).rejects.toMatchObject({ code: 'box.locked' })
    expect(device.screens.length).toBe(screens)
    await locked.enterPassword('owner password 2')
    expect(again.signer.isRegistered(vault)).toBe(true)
    await again.signer.displayAddress(vault, 0, 0)
    expect(device.screens.filter((s) => s.kind === 'register')).toHaveLength(1)
    await again.transport.close()
  }, 60_000)

  it('seals a plain file of the first version on unlock', async () => {
    const box = new BoxKey(dir)
    const hmac = new Uint8Array(32).fill(7)
    new LedgerPolicyStore(dir, box).save('0a0b0c0d', 'ab'.repeat(32), 'Shop savings', hmac)
    expect(readFileSync(path, 'utf8')).toContain('07'.repeat(32))
    await box.enterPassword('owner password 1')
    const store = new LedgerPolicyStore(dir, box)
    expect(store.sealPlainFile()).toBe(true)
    expect(readFileSync(path, 'utf8')).not.toContain('07'.repeat(32))
    expect(store.sealPlainFile()).toBe(false)
    expect(store.hmac('0a0b0c0d', 'ab'.repeat(32))).toEqual(hmac)
  }, 60_000)
})
