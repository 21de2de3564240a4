// The box key wrapped by an HSM key on a real SoftHSM2 token: the box then opens only with the
// password and that token; a missing token, another token or a wrong password is refused in plain
// words; a password change needs no HSM; what is sealed under the box key opens all along.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSoftHsmToken, type SoftHsmToken } from '../../../../tests/setup/softhsm'
import { BoxKey } from '../../secrets/box-key'
import { boxKeyHsm } from './box-key-hsm'

let token: SoftHsmToken
let otherSerial = ''
let dir: string
beforeAll(() => {
  token = createSoftHsmToken('flash-box-boxkey')
  // A second token in the same SoftHSM2 store (another HSM the box was not set up with).
  execFileSync(
    'softhsm2-util',
    [
      '--init-token',
      '--free',
      '--label',
      'flash-box-other',
      '--pin',
      token.pin,
      '--so-pin',
      token.soPin,
    ],
    { stdio: 'pipe' },
  )
  const shown = execFileSync('softhsm2-util', ['--show-slots'], { encoding: 'utf8' })
  otherSerial = [
    ...shown.matchAll(/Serial number:\s+(\S+)\s+Initialized:\s+yes[\s\S]*?Label:\s+(\S+)/g),
  ].find((m) => m[2] === 'flash-box-other')![1]!
  dir = mkdtempSync(join(tmpdir(), 'box-key-hsm-'))
})
afterAll(() => {
  token.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const hsmOf = (serial: string) =>
  boxKeyHsm({ modulePath: token.modulePath, tokenSerial: serial, pin: token.pin })

describe('box key wrapped by the HSM (SoftHSM2, CKM_AES_KEY_WRAP_PAD)', () => {
  it('opens only with the password and the same HSM', async () => {
    const box = new BoxKey(dir)
    await box.enterPassword('owner password')
    const sealed = box.seal('test.secret', 'the till code')
    const key = box.exportKey()
    box.useHsm(hsmOf(token.serial))
    await expect(box.wrapWithHsm('wrong password')).rejects.toMatchObject({
      code: 'box.wrong_password',
    })
    await box.wrapWithHsm('owner password')
    const file = readFileSync(box.path)
    expect(JSON.parse(file.toString()).hsm).toEqual({
      tokenSerial: token.serial,
      keyLabel: 'flash-box box key',
    })

    // After a restart: the password alone does not open the box.
    const alone = new BoxKey(dir)
    await expect(alone.enterPassword('owner password')).rejects.toMatchObject({
      code: 'box.hsm_missing',
    })
    expect(alone.unlocked).toBe(false)
    // Neither does another token presented as this one.
    const impostor = new BoxKey(dir)
    impostor.useHsm({ ...hsmOf(otherSerial), tokenSerial: token.serial })
    await expect(impostor.enterPassword('owner password')).rejects.toMatchObject({
      code: 'hsm.unwrap_failed',
    })
    // The right token and password: the same key, and what it sealed opens.
    const withHsm = new BoxKey(dir)
    withHsm.useHsm(hsmOf(token.serial))
    await expect(withHsm.enterPassword('not it')).rejects.toMatchObject({
      code: 'box.wrong_password',
    })
    await withHsm.enterPassword('owner password')
    expect(withHsm.exportKey().equals(key)).toBe(true)
    expect(withHsm.open('test.secret', sealed).toString()).toBe('the till code')

    // A new password re-wraps without the HSM, and the box still needs the HSM afterwards.
    await new BoxKey(dir).changePassword('owner password', 'new password')
    await expect(new BoxKey(dir).enterPassword('new password')).rejects.toMatchObject({
      code: 'box.hsm_missing',
    })
    const after = new BoxKey(dir)
    after.useHsm(hsmOf(token.serial))
    await after.enterPassword('new password')
    expect(after.open('test.secret', sealed).toString()).toBe('the till code')

    // Turning it off needs the HSM once; then the password alone opens the box again.
    await after.unwrapFromHsm('new password')
    const plain = new BoxKey(dir)
    await plain.enterPassword('new password')
    expect(plain.exportKey().equals(key)).toBe(true)
  }, 120_000)
})
