// The eCash recovery words at rest: plain only before the owner has a password, sealed under the
// box key on the first unlock (in place, atomically), and the wallet waits while the box is locked.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createEngine } from '../engine/engine'
import { createLogger } from '../log'
import { boxKeyFor } from '../secrets/box-key'
import { isSealedFile } from '../secrets/box-key-file'
import { ecashModule } from './ecash-module'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const ctx = { transport: 'internal' } as const
const log = createLogger('test', { level: 'error', sink: () => {} })
const start = (dir: string) =>
  createEngine({ dataDir: dir, log, modules: [ecashModule({ backgroundIntervalMs: 0 })] })

describe('eCash seed at rest', () => {
  it('is sealed on the first unlock, and the wallet waits for the box while locked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecash-seal-'))
    dirs.push(dir)
    const seedPath = join(dir, 'ecash', 'seed.json')
    let e = await start(dir)
    const { receivePubkey } = (await e.call('ecash', 'status', {}, ctx)) as {
      receivePubkey: string
    }
    const mnemonic = (JSON.parse(readFileSync(seedPath, 'utf8')) as { mnemonic: string }).mnemonic
    expect(mnemonic.split(' ')).toHaveLength(12)

    await boxKeyFor(dir).enterPassword('the owner password') // setup
    for (let i = 0; i < 50 && !isSealedFile(seedPath); i++)
      await new Promise((r) => setTimeout(r, 20))
    expect(isSealedFile(seedPath)).toBe(true)
    const sealed = readFileSync(seedPath, 'utf8')
    // Two words with the space between them: a space cannot appear in the sealed file's base64 or
    // its keys, while one word alone can by chance ('sea' is in "sealed", 'seed' in "ecash.seed").
    expect(sealed).not.toContain(mnemonic.split(' ').slice(0, 2).join(' '))
    expect(sealed).not.toContain(mnemonic)
    await e.stop()

    e = await start(dir) // after a restart: locked
    const err = await e.call('ecash', 'status', {}, ctx).catch((x: { code: string }) => x)
    expect((err as { code: string }).code).toBe('box.locked')
    await boxKeyFor(dir).enterPassword('the owner password')
    const after = (await e.call('ecash', 'status', {}, ctx)) as { receivePubkey: string }
    expect(after.receivePubkey).toBe(receivePubkey)
    // Showing the words needs the password again.
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'shown',
        (x: { code: string }) => x.code,
      )
    expect(await code(e.call('ecash', 'backupSeed', { confirm: true }, ctx))).toBe(
      'ecash.password_needed',
    )
    expect(
      await code(e.call('ecash', 'backupSeed', { confirm: true, password: 'not it at all' }, ctx)),
    ).toBe('box.wrong_password')
    const shown = (await e.call(
      'ecash',
      'backupSeed',
      { confirm: true, password: 'the owner password' },
      ctx,
    )) as { words: string[] }
    expect(shown.words.join(' ')).toBe(mnemonic)
    await e.stop()
  })
})
