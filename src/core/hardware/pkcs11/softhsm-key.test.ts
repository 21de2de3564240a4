// The HSM cosigner key on a real SoftHSM2 token (a fresh token folder per run, removed after):
// generated inside the token, never extractable, ECDSA signatures that verify, low S on every one
// (counting the high-S ones the token gave and Flash Box flipped), and a wrong PIN in plain words.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pkcs11js from 'pkcs11js'
import * as ecc from 'tiny-secp256k1'
import { randomBytes } from 'node:crypto'
import { createSoftHsmToken, type SoftHsmToken } from '../../../../tests/setup/softhsm'
import { FlashError } from '../../errors'
import { derFromCompact } from '../ecdsa-encoding'
import { ensureWrappingKey, unwrapSecret, wrapSecret } from './aes-key-wrap'
import { listTokens, TokenSession } from './pkcs11-token'
import { findSecp256k1Key, generateSecp256k1Key, keyProtection, signDigest } from './secp256k1-key'

let token: SoftHsmToken
beforeAll(() => {
  token = createSoftHsmToken()
})
afterAll(() => token.dispose())

function open(pin = token.pin): TokenSession {
  return TokenSession.open({ modulePath: token.modulePath, tokenSerial: token.serial, pin })
}

describe('HSM secp256k1 key over PKCS#11 (SoftHSM2)', () => {
  it('lists the token by label and serial', () => {
    const found = listTokens(token.modulePath)
    expect(found).toContainEqual(
      expect.objectContaining({ label: 'flash-box-test', serial: token.serial, pin: 'ok' }),
    )
  })

  it('generates a key that stays inside the token, finds it again, and signs with low S', () => {
    const s = open()
    try {
      const key = generateSecp256k1Key(s, 'vault cosigner')
      expect(key.publicKey).toHaveLength(33)
      expect(ecc.isPoint(key.publicKey)).toBe(true)
      expect(keyProtection(s, key)).toEqual({
        sensitive: true,
        extractable: false,
        neverExtractable: true,
      })
      // The token refuses to hand out the private value.
      expect(() =>
        s.lib.C_GetAttributeValue(s.session, key.privateHandle, [{ type: pkcs11js.CKA_VALUE }]),
      ).toThrow(/CKR_ATTRIBUTE_SENSITIVE/)
      expect(() => generateSecp256k1Key(s, 'vault cosigner')).toThrow(/already holds a key/)

      let flipped = 0
      for (let i = 0; i < 64; i++) {
        const digest = randomBytes(32)
        const sig = signDigest(s, key, digest)
        if (sig.normalised) flipped++
        // strict = true: tiny-secp256k1 refuses high S.
        expect(ecc.verify(digest, key.publicKey, sig.compact, true)).toBe(true)
        const der = derFromCompact(sig.compact)
        expect(der[0]).toBe(0x30)
        expect(der.length).toBeLessThanOrEqual(72)
      }
      // Raw CKM_ECDSA gives a high S about half the time; every one of them was flipped.
      expect(flipped).toBeGreaterThan(0)
      expect(flipped).toBeLessThan(64)
    } finally {
      s.close()
    }
    // A new session (after the module was finalized) finds the same key by its label.
    const again = open()
    try {
      const key = findSecp256k1Key(again, 'vault cosigner')
      expect(key).toBeDefined()
      expect(findSecp256k1Key(again, 'no such key')).toBeUndefined()
    } finally {
      again.close()
    }
  })

  it('the reference tool (OpenSC pkcs11-tool) sees a never-extractable EC private key', () => {
    const listed = execFileSync(
      'pkcs11-tool',
      [
        '--module',
        token.modulePath,
        '--token-label',
        'flash-box-test',
        '--login',
        '--pin',
        token.pin,
        '--list-objects',
        '--type',
        'privkey',
      ],
      { encoding: 'utf8', env: process.env },
    )
    expect(listed).toMatch(/Private Key Object; EC/)
    expect(listed).toMatch(/label:\s+vault cosigner/)
    expect(listed).toMatch(/Access:\s+sensitive, always sensitive, never extractable/)
  })

  it('a wrong PIN is refused in plain words, with the token’s warning, and nothing opens', () => {
    let err: unknown
    try {
      open('000000')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FlashError)
    expect((err as FlashError).code).toBe('hsm.pin_incorrect')
    expect((err as FlashError).message).toMatch(/refused the PIN/)
    expect((err as FlashError).message).not.toContain('000000')
    // SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a wrong PIN; the listing reports it.
    expect(listTokens(token.modulePath)[0]?.pin).toBe('count-low')
    open().close()
  })

  it('a missing module and a missing token are plain errors', () => {
    expect(() =>
      TokenSession.open({
        modulePath: '/nonexistent/libnothing.so',
        tokenSerial: 'x',
        pin: '1234',
      }),
    ).toThrow(expect.objectContaining({ code: 'hsm.module_missing' }))
    expect(() =>
      TokenSession.open({ modulePath: token.modulePath, tokenSerial: 'ffffffff', pin: '1234' }),
    ).toThrow(expect.objectContaining({ code: 'hsm.token_missing' }))
  })

  it('wraps a secret (the box key) with CKM_AES_KEY_WRAP_PAD under a non-extractable AES key, and only that key opens it', () => {
    const s = open()
    try {
      const wrapping = ensureWrappingKey(s, 'box key wrap')
      // Found again, not made twice: what one handle wraps, the other opens.
      const again = ensureWrappingKey(s, 'box key wrap')
      const [extractable, sensitive] = s.lib.C_GetAttributeValue(s.session, wrapping, [
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_SENSITIVE },
      ])
      expect((extractable!.value as Buffer)[0]).toBe(0)
      expect((sensitive!.value as Buffer)[0]).toBe(1)
      expect(() => wrapSecret(s, wrapping, randomBytes(21))).toThrow(/multiple of 8/)
      for (const secret of [randomBytes(32), randomBytes(64)]) {
        const wrapped = wrapSecret(s, wrapping, secret)
        // RFC 5649: the secret plus the 8-byte integrity block.
        expect(wrapped.length).toBe(secret.length + 8)
        expect(wrapped.includes(secret)).toBe(false)
        expect(unwrapSecret(s, again, wrapped).equals(secret)).toBe(true)
        const other = ensureWrappingKey(s, 'another key')
        expect(() => unwrapSecret(s, other, wrapped)).toThrow(
          expect.objectContaining({ code: 'hsm.unwrap_failed' }),
        )
        const damaged = Buffer.from(wrapped)
        damaged[3] = damaged[3]! ^ 1
        expect(() => unwrapSecret(s, wrapping, damaged)).toThrow(
          expect.objectContaining({ code: 'hsm.unwrap_failed' }),
        )
      }
    } finally {
      s.close()
    }
  })
})
