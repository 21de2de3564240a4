// The hardware module on a real SoftHSM2 token: set up (key made inside the token), PIN kept in a
// 0600 file only when asked and never in the log, a wrong PIN counted and refused, lock/unlock,
// auto-unlock on restart, a vault preview with its export limits, and signing a vault PSBT.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/setup/softhsm'
import { EventBus } from '../events'
import { createLogger } from '../log'
import type { EngineContext, RequestContext } from '../engine/module'

const rc: RequestContext = { transport: 'internal' }
import { createHardwareModule } from './hardware-module'
import { SeedSigner } from './seed-signer'
import { vaultAddress, type Vault } from './multisig/vault'
import { vaultSpendPsbt } from './multisig/vault-psbt'
import { Transaction } from 'bitcoinjs-lib'

let token: SoftHsmToken
let dir: string
const lines: string[] = []
const PIN = '123456'

function ctx(): EngineContext {
  return {
    dataDir: dir,
    log: createLogger('test', { sink: (l) => lines.push(JSON.stringify(l)) }),
    events: new EventBus(),
    modules: new Map(),
  }
}

beforeAll(() => {
  token = createSoftHsmToken('box-hsm', PIN)
  dir = mkdtempSync(join(tmpdir(), 'fb-hardware-'))
})
afterAll(() => {
  token.dispose()
  rmSync(dir, { recursive: true, force: true })
})

describe('hardware module with SoftHSM2', () => {
  it('sets up, counts a wrong PIN, locks, unlocks itself on restart, previews and signs', async () => {
    const m = createHardwareModule(ctx())
    await m.start()
    try {
      const devices = await m.handlers.devices({}, rc)
      expect(devices.devices).toEqual([])

      const tokens = await m.handlers.hsmTokens({ modulePath: token.modulePath }, rc)
      expect(tokens.map((t) => t.label)).toContain('box-hsm')

      await expect(
        m.handlers.hsmSetup(
          {
            modulePath: token.modulePath,
            tokenSerial: token.serial,
            keyLabel: 'vault',
            pin: '999999',
            rememberPin: true,
          },
          rc,
        ),
      ).rejects.toMatchObject({ code: 'hsm.pin_incorrect' })
      expect((await m.handlers.hsmStatus({}, rc)).configured).toBe(false)

      const set = await m.handlers.hsmSetup(
        {
          modulePath: token.modulePath,
          tokenSerial: token.serial,
          keyLabel: 'vault',
          pin: PIN,
          rememberPin: true,
        },
        rc,
      )
      expect(set).toMatchObject({
        configured: true,
        unlocked: true,
        pinRemembered: true,
        wrongPins: 0,
      })
      expect(set.key?.publicKey).toMatch(/^0[23][0-9a-f]{64}$/)
      const pinFile = join(dir, 'secrets', 'hsm-pin')
      expect(statSync(pinFile).mode & 0o777).toBe(0o600)
      expect(readFileSync(pinFile, 'utf8')).toBe(PIN)

      await m.handlers.hsmLock({}, rc)
      await expect(m.handlers.hsmUnlock({ pin: '000000' }, rc)).rejects.toMatchObject({
        code: 'hsm.pin_incorrect',
      })
      const afterWrong = await m.handlers.hsmStatus({}, rc)
      expect(afterWrong).toMatchObject({ unlocked: false, wrongPins: 1, pinState: 'count-low' })
      expect((await m.handlers.hsmUnlock({ pin: PIN }, rc)).unlocked).toBe(true)
      expect((await m.handlers.hsmStatus({}, rc)).wrongPins).toBe(0)
    } finally {
      await m.stop()
    }

    // Restart: the remembered PIN unlocks the same key.
    const again = createHardwareModule(ctx())
    await again.start()
    try {
      const st = await again.handlers.hsmStatus({}, rc)
      expect(st.unlocked).toBe(true)
      const backup = SeedSigner.fromSeed(new Uint8Array(32).fill(5))
      const other = SeedSigner.fromSeed(new Uint8Array(32).fill(6))
      const vaultInput = {
        name: 'savings',
        threshold: 2,
        cosigners: [
          {
            kind: 'fixed' as const,
            name: 'HSM',
            fingerprint: st.key!.fingerprint,
            publicKey: st.key!.publicKey,
          },
          await backup.cosigner('regtest', 'Backup'),
          await other.cosigner('regtest', 'Device'),
        ],
      }
      const view = await again.handlers.vaultPreview(vaultInput, rc)
      expect(view.descriptor).toMatch(/^wsh\(sortedmulti\(2,/)
      expect(view.walletPolicy).toBeUndefined()
      expect(view.exportLimits.join(' ')).toMatch(/BIP388/)

      const vault: Vault = { ...vaultInput, network: 'regtest' }
      const a0 = vaultAddress(vault, 0, 0)
      expect(view.firstAddresses[0]).toBe(a0.address)
      const prev = new Transaction()
      prev.addInput(new Uint8Array(32).fill(1), 0)
      prev.addOutput(a0.script, 50_000n)
      const psbt = vaultSpendPsbt(
        vault,
        [
          {
            txid: prev.getId(),
            vout: 0,
            value: 50_000n,
            chain: 0,
            index: 0,
            prevTxHex: prev.toHex(),
          },
        ],
        [{ address: vaultAddress(vault, 0, 5).address, value: 40_000n }],
      )
      const signed = await again.handlers.hsmSignPsbt({ psbt, vault: vaultInput }, rc)
      expect(signed.signedInputs).toEqual([0])
    } finally {
      await again.stop()
    }
    // Forget: config and PIN file gone; the log never held the PIN.
    const last = createHardwareModule(ctx())
    await last.start()
    expect((await last.handlers.hsmForget({}, rc)).configured).toBe(false)
    await last.stop()
    expect(() => statSync(join(dir, 'secrets', 'hsm-pin'))).toThrow()
    expect(lines.join('\n')).not.toContain(PIN)
  })
})
