import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import * as nip49 from 'nostr-tools/nip49'
import { getPublicKey } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import { Nip49KeyStore, ncryptsecHeader } from './nip49-keystore'

// NIP-49 "Test Data": this ncryptsec, password "nostr", log_n 16, decrypts to this key.
const SPEC_NCRYPTSEC =
  'ncryptsec1qgg9947rlpvqu76pj5ecreduf9jxhselq2nae2kghhvd5g7dgjtcxfqtd67p9m0w57lspw8gsq6yphnm8623nsl8xn9j4jdzz84zm3frztj3z7s35vpzmqf6ksu8r89qk5z2zxfmu5gv8th8wclt0h4p'
const SPEC_KEY = '3501454135014541350145413501453fefb02227e449e57cf4d3a3ce05378683'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nip49-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('NIP-49 vectors', () => {
  it('decrypts the spec ncryptsec with its password to the spec key', () => {
    expect(bytesToHex(nip49.decrypt(SPEC_NCRYPTSEC, 'nostr'))).toBe(SPEC_KEY)
    expect(ncryptsecHeader(SPEC_NCRYPTSEC).logN).toBe(16)
  })

  it('imports the spec ncryptsec through the keystore', () => {
    const ks = new Nip49KeyStore(dir)
    const id = ks.import('a new passphrase', SPEC_NCRYPTSEC, {
      secretPassphrase: 'nostr',
      replace: false,
    })
    expect(id.pubkey).toBe(getPublicKey(Buffer.from(SPEC_KEY, 'hex')))
    expect(() =>
      new Nip49KeyStore(mkdtempSync(join(dir, 'x'))).import('passphrase', SPEC_NCRYPTSEC, {
        secretPassphrase: 'wrong',
        replace: false,
      }),
    ).toThrow(/passphrase does not open/)
  })
})

describe('Nip49KeyStore', () => {
  it('stores only an ncryptsec (log_n ≥ 16) in a 0600 file and unlocks with the passphrase', () => {
    const ks = new Nip49KeyStore(dir)
    const { identity } = ks.create('correct horse battery', {
      recoveryWords: false,
      replace: false,
    })
    expect(identity.state).toBe('unlocked')
    expect(identity.keySecurity).toBe('secure')
    const path = join(dir, 'identity.json')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const file = JSON.parse(readFileSync(path, 'utf8'))
    expect(file.ncryptsec).toMatch(/^ncryptsec1/)
    expect(ncryptsecHeader(file.ncryptsec).logN).toBeGreaterThanOrEqual(16)
    const sk = bytesToHex(ks.secretKey())
    expect(readFileSync(path, 'utf8')).not.toContain(sk)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])

    const again = new Nip49KeyStore(dir)
    expect(again.identity().state).toBe('locked')
    expect(() => again.secretKey()).toThrow(/locked/)
    expect(() => again.unlock('wrong passphrase')).toThrow(/does not open/)
    expect(again.unlock('correct horse battery').state).toBe('unlocked')
    expect(bytesToHex(again.secretKey())).toBe(sk)
    again.lock()
    expect(() => again.secretKey()).toThrow(/locked/)
  })

  it('exports only with the passphrase and marks the key insecure afterwards', () => {
    const ks = new Nip49KeyStore(dir)
    ks.create('correct horse battery', { recoveryWords: false, replace: false })
    expect(() => ks.export('nope nope nope')).toThrow(/does not open/)
    const nsec = ks.export('correct horse battery')
    const d = nip19.decode(nsec)
    expect(d.type).toBe('nsec')
    expect(getPublicKey(d.data as Uint8Array)).toBe(ks.pubkey)
    expect(ks.identity().keySecurity).toBe('insecure')
  })

  it('imports nsec and NIP-06 words (spec vector), refusing to overwrite without confirmation', () => {
    const ks = new Nip49KeyStore(dir)
    // NIP-06 test vector.
    const words = 'leader monkey parrot ring guide accident before fence cannon height naive bean'
    const id = ks.import('passphrase1', words, { replace: false })
    expect(id.pubkey).toBe('17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917')
    expect(() =>
      ks.import('passphrase1', nip19.nsecEncode(new Uint8Array(32).fill(7)), { replace: false }),
    ).toThrow(/already has a Nostr key/)
    const replaced = ks.import('passphrase1', nip19.nsecEncode(new Uint8Array(32).fill(7)), {
      replace: true,
    })
    expect(replaced.keySecurity).toBe('insecure')
    // The old key is kept, still encrypted.
    expect(readdirSync(dir).some((f) => f.startsWith('identity.replaced-'))).toBe(true)
    expect(() => ks.import('passphrase1', 'not a key at all', { replace: true })).toThrow(
      /not an nsec/,
    )
  })

  it('creates a key from recovery words that re-import to the same key', () => {
    const ks = new Nip49KeyStore(dir)
    const out = ks.create('passphrase1', { recoveryWords: true, replace: false })
    expect(out.recoveryWords?.split(' ')).toHaveLength(12)
    const other = new Nip49KeyStore(mkdtempSync(join(dir, 'other')))
    expect(other.import('passphrase2', out.recoveryWords!, { replace: false }).pubkey).toBe(
      out.identity.pubkey,
    )
  })
})
