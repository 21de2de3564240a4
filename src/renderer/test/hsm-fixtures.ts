// Test data for the HSM's status, as Settings → HSM and the Devices page read it (shapes from
// src/shared/api/hardware.ts): not set up, and set up and unlocked with a key.
import type { HsmStatus } from '../../shared/api/hardware'

export const HSM_KEY = '02' + 'ab'.repeat(32)

export const hsmUnconfigured: HsmStatus = {
  configured: false,
  pinRemembered: false,
  unlocked: false,
  wrongPins: 0,
}

export const hsmUnlocked: HsmStatus = {
  configured: true,
  modulePath: '/usr/lib/softhsm/libsofthsm2.so',
  tokenSerial: 'abc123',
  keyLabel: 'flash-box-vault',
  pinRemembered: false,
  unlocked: true,
  key: { publicKey: HSM_KEY, fingerprint: 'd34db33f' },
  wrongPins: 0,
  pinState: 'ok',
}
