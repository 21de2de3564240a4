import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createSeedVault,
  openSeed,
  readSealedSeed,
  readSeedVault,
  sealSeed,
  storeOnce,
} from './seed-vault'

const words =
  'abandon ability able about above absent absorb abstract absurd abuse access accident account accuse achieve acid acoustic acquire across act action actor actress actual'.split(
    ' ',
  )
const dir = mkdtempSync(join(tmpdir(), 'flashbox-seed-vault-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('seed vault', () => {
  it('seals words without the password and opens them only with it', async () => {
    const vault = await createSeedVault('correct horse battery staple')
    const sealed = sealSeed(vault, words)
    expect(await openSeed(vault, sealed, 'correct horse battery staple')).toEqual(words)
    await expect(openSeed(vault, sealed, 'wrong password!')).rejects.toMatchObject({
      code: 'lightning.wrong_password',
    })
  })

  it('never writes a word or the private key in plain text, files 0600, created once', async () => {
    const vault = await createSeedVault('correct horse battery staple')
    const sealed = sealSeed(vault, words)
    const vp = join(dir, 'secrets', 'seed-vault.json')
    const sp = join(dir, 'secrets', 'lnd-seed.json')
    expect(storeOnce(vp, vault)).toBe(true)
    expect(storeOnce(sp, sealed)).toBe(true)
    expect(storeOnce(sp, sealSeed(vault, words))).toBe(false)
    const text = readFileSync(sp, 'utf8') + readFileSync(vp, 'utf8')
    for (const w of ['abandon', 'accident', 'acoustic', 'actress']) expect(text).not.toContain(w)
    expect(statSync(sp).mode & 0o777).toBe(0o600)
    expect(statSync(vp).mode & 0o777).toBe(0o600)
    expect(readSealedSeed(sp)).toEqual(sealed)
    expect(readSeedVault(vp)).toEqual(vault)
  })

  it('detects tampering and a vault that does not belong to the words', async () => {
    const vault = await createSeedVault('correct horse battery staple')
    const sealed = sealSeed(vault, words)
    const flipped = Buffer.from(sealed.box.ciphertext, 'base64')
    flipped[0]! ^= 1
    await expect(
      openSeed(
        vault,
        { ...sealed, box: { ...sealed.box, ciphertext: flipped.toString('base64') } },
        'correct horse battery staple',
      ),
    ).rejects.toMatchObject({ code: 'lightning.seed_damaged' })
    const other = await createSeedVault('correct horse battery staple')
    await expect(openSeed(other, sealed, 'correct horse battery staple')).rejects.toMatchObject({
      code: 'lightning.seed_vault_mismatch',
    })
  })

  it('reports a damaged file instead of treating it as absent', () => {
    const p = join(dir, 'bad.json')
    rmSync(p, { force: true })
    expect(readSeedVault(p)).toBeNull()
    storeOnce(p, { nonsense: true } as never)
    expect(() => readSeedVault(p)).toThrow(
      expect.objectContaining({ code: 'lightning.file_damaged' }),
    )
  })
})
