// A throw-away SoftHSM2 token for tests: its own config and token folder under the OS temp dir,
// set in SOFTHSM2_CONF (read by libsofthsm2 at C_Initialize), removed by `dispose()`.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so'

export interface SoftHsmToken {
  modulePath: string
  serial: string
  pin: string
  soPin: string
  dispose(): void
}

export function createSoftHsmToken(label = 'flash-box-test', pin = '123456'): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-softhsm-'))
  const tokens = join(dir, 'tokens')
  mkdirSync(tokens)
  const conf = join(dir, 'softhsm2.conf')
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  )
  const before = process.env['SOFTHSM2_CONF']
  process.env['SOFTHSM2_CONF'] = conf
  const soPin = '87654321'
  const env = { ...process.env, SOFTHSM2_CONF: conf }
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin],
    { env, stdio: 'pipe' },
  )
  const shown = execFileSync('softhsm2-util', ['--show-slots'], { env, encoding: 'utf8' })
  // --show-slots prints, per token: "Serial number: …", "Initialized: yes", …, "Label: …".
  const found = [
    ...shown.matchAll(/Serial number:\s+(\S+)\s+Initialized:\s+yes[\s\S]*?Label:\s+(\S+)/g),
  ].find((m) => m[2] === label)
  if (!found) throw new Error(`softhsm2-util did not list the new token:\n${shown}`)
  return {
    modulePath: SOFTHSM_MODULE,
    serial: found[1]!,
    pin,
    soPin,
    dispose() {
      if (before === undefined) delete process.env['SOFTHSM2_CONF']
      else process.env['SOFTHSM2_CONF'] = before
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
