import { describe, expect, it } from 'vitest'
import { hexToBytes } from '@noble/hashes/utils.js'
import {
  hiddenServiceFiles,
  newOnionKey,
  onionAddress,
  onionKeyFromSeed,
  onionPublicKey,
} from './onion-keys'
import vectors from './onion-keys.vectors.json'

describe('v3 onion keys', () => {
  it('computes the hostname tor wrote for its own key', () => {
    for (const v of vectors.vectors) expect(onionAddress(hexToBytes(v.publicKey))).toBe(v.hostname)
  })

  it('reads the public key back and refuses a damaged address', () => {
    const k = newOnionKey()
    expect(onionPublicKey(k.hostname)).toEqual(k.publicKey)
    const broken = (k.hostname[0] === 'a' ? 'b' : 'a') + k.hostname.slice(1)
    expect(() => onionPublicKey(broken)).toThrow(/checksum/)
    expect(() => onionPublicKey('example.onion')).toThrow()
  })

  it('is the same address for the same seed, and writes tor’s key files', () => {
    const k = newOnionKey()
    expect(onionKeyFromSeed(k.seed).hostname).toBe(k.hostname)
    const files = hiddenServiceFiles(k)
    expect(files.hs_ed25519_secret_key!.length).toBe(96)
    expect(new TextDecoder().decode(files.hs_ed25519_secret_key!.slice(0, 29))).toBe(
      '== ed25519v1-secret: type0 ==',
    )
    expect(files.hs_ed25519_public_key!.slice(32)).toEqual(k.publicKey)
    expect(new TextDecoder().decode(files.hostname)).toBe(k.hostname + '\n')
  })
})
