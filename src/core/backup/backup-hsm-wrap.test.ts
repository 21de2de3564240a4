// Turning the HSM wrap of the box key on and off through the engine's API (backup.setHsmWrap), on a
// real SoftHSM2 token set up as Settings → HSM would (hardware/hsm.json): after a restart the box
// does not open without that HSM, nor with a wrong PIN, opens with it, and opens with the password
// alone once the owner turned the wrap off.
import { mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/setup/softhsm'
import type { BackupStatus } from '../../shared/api/backup'
import { createEngine, type Engine } from '../engine/engine'
import { HsmStore } from '../hardware/hsm-store'
import { silentLogger } from '../log'
import { boxKeyFor } from '../secrets/box-key'
import { backupModule } from './backup-module'

let token: SoftHsmToken
let dir: string
const engines: Engine[] = []
beforeAll(() => {
  token = createSoftHsmToken('flash-box-hsmwrap')
  dir = mkdtempSync(join(tmpdir(), 'backup-hsm-wrap-'))
})
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop()
})
afterAll(() => {
  token.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const ctx = { transport: 'internal' } as const
const start = async () => {
  const e = await createEngine({ dataDir: dir, log: silentLogger, modules: [backupModule()] })
  engines.push(e)
  return e
}
const restart = async () => {
  for (const e of engines.splice(0)) await e.stop()
  return start()
}
const call = (e: Engine, name: string, input: object) =>
  e.call('backup', name, input, ctx) as Promise<BackupStatus>
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (err: { code?: string }) => err.code,
  )

describe('backup.setHsmWrap (SoftHSM2)', () => {
  it('turns on, locks, refuses without the HSM, unlocks with it, turns off', async () => {
    const pw = 'owner password 1'
    let e = await start()
    await call(e, 'setPassword', { password: pw })
    const sealed = boxKeyFor(dir).seal('test.secret', 'the till code')
    expect((await call(e, 'status', {})).hsmWrap).toEqual({ configured: false, enabled: false })
    expect(await codeOf(call(e, 'setHsmWrap', { enabled: true, password: pw }))).toBe(
      'box.hsm_not_configured',
    )

    // Settings → HSM set up, PIN not remembered.
    new HsmStore(dir).saveConfig({
      modulePath: token.modulePath,
      tokenSerial: token.serial,
      keyLabel: 'cosigner',
    })
    expect(await codeOf(call(e, 'setHsmWrap', { enabled: true, password: pw }))).toBe(
      'box.hsm_pin_needed',
    )
    expect(
      await codeOf(call(e, 'setHsmWrap', { enabled: true, password: 'wrong', pin: token.pin })),
    ).toBe('box.wrong_password')
    expect(
      await codeOf(call(e, 'setHsmWrap', { enabled: true, password: pw, pin: '000000' })),
    ).toBe('hsm.pin_incorrect')
    const on = await call(e, 'setHsmWrap', { enabled: true, password: pw, pin: token.pin })
    expect(on.hsmWrap).toEqual({ configured: true, enabled: true, tokenSerial: token.serial })

    // Restart: the box is locked. Without the HSM set up (as on another computer), refused.
    e = await restart()
    expect((await call(e, 'status', {})).box).toBe('locked')
    const cfg = join(dir, 'hardware', 'hsm.json')
    renameSync(cfg, cfg + '.away')
    expect(await codeOf(call(e, 'unlock', { password: pw }))).toBe('box.hsm_missing')
    renameSync(cfg + '.away', cfg)
    expect(await codeOf(call(e, 'unlock', { password: pw, pin: '000000' }))).toBe(
      'hsm.pin_incorrect',
    )
    expect(await codeOf(call(e, 'unlock', { password: 'wrong', pin: token.pin }))).toBe(
      'box.wrong_password',
    )
    expect((await call(e, 'status', {})).box).toBe('locked')
    expect((await call(e, 'unlock', { password: pw, pin: token.pin })).box).toBe('unlocked')
    expect(boxKeyFor(dir).open('test.secret', sealed).toString()).toBe('the till code')

    // Off (needs the HSM once); then the password alone opens the box after a restart.
    const off = await call(e, 'setHsmWrap', { enabled: false, password: pw, pin: token.pin })
    expect(off.hsmWrap).toEqual({ configured: true, enabled: false })
    e = await restart()
    new HsmStore(dir).forgetAll()
    expect((await call(e, 'unlock', { password: pw })).box).toBe('unlocked')
    expect(boxKeyFor(dir).open('test.secret', sealed).toString()).toBe('the till code')
  }, 120_000)
})
