// Checks the box makes the same way for every device it drives itself (Ledger, Coldcard, Jade):
// the firmware/app version floor, that the device holds one of the vault's keys, and that the
// address a device shows is the vault's own. Each device keeps its own error codes and hints.
import type { Network } from 'bitcoinjs-lib'
import { address as baddress } from 'bitcoinjs-lib'
import { FlashError } from '../../errors'
import { compareBytes, type Vault } from '../multisig/vault'

/**
 * Whether a device's version ("2.1.3", "1.0.31-beta") is at least `min` ("2.1.0"): the first
 * three numbers are compared; `.` and `-` both separate them, a part that is not a number is 0.
 */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  const b = min.split('.').map(Number)
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!
  return true
}

/** Throws `signer.wrong_device` unless the device's fingerprint is one of the vault's xpub keys. */
export function checkHoldsVaultKey(vault: Vault, fingerprint: string, device: string): void {
  if (!vault.cosigners.some((c) => c.kind === 'xpub' && c.fingerprint === fingerprint))
    throw new FlashError(
      'signer.wrong_device',
      `This ${device} (fingerprint ${fingerprint}) holds none of the vault’s keys.`,
      `Connect the ${device} whose fingerprint is on the vault’s recovery sheet, then try again from Devices.`,
    )
}

/** What the device must show, and how to say it when it does not. */
export interface ShownAddressCheck {
  /** The vault's own address and output script at that chain/index. */
  expected: { address: string; script: Uint8Array }
  /** The network the device writes its addresses for (it may differ from the vault's prefix). */
  deviceNetwork: Network
  device: string
  code: string
  hint: string
}

/**
 * Compares the script of the address a device shows with the vault's own (scripts, not strings:
 * a device may show another network prefix). Returns the vault's address; throws `code` if not.
 */
export function checkShownAddress(shown: string, check: ShownAddressCheck): string {
  let script: Uint8Array | undefined
  try {
    script = baddress.toOutputScript(shown, check.deviceNetwork)
  } catch {
    script = undefined
  }
  if (!script || compareBytes(script, check.expected.script) !== 0)
    throw new FlashError(
      check.code,
      `The ${check.device} shows ${shown}, which is not the vault’s address ${check.expected.address}. Do not use it.`,
      check.hint,
    )
  return check.expected.address
}
