// Tor v3 onion service keys, made by the box (rend-spec-v3 §6 "Encoding onion addresses" and
// tor's on-disk key files), so every onion address is known — and kept in the box's secrets and
// backups — before Tor runs, and stays the same across restarts and reinstalls.
//   address  = base32(PUBKEY | CHECKSUM | VERSION) + ".onion"
//   CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[:2], VERSION = 0x03
//   hs_ed25519_secret_key = "== ed25519v1-secret: type0 ==" + 3 NUL + the expanded secret key
//     (SHA-512 of the seed, first half clamped as ed25519 does) — what tor loads from
//     HiddenServiceDir; hs_ed25519_public_key likewise with "ed25519v1-public" and the public key.
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { base32 } from '@scure/base'

export interface OnionKey {
  /** 32-byte ed25519 seed: the only secret to keep. */
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
  /** `<56 chars>.onion` */
  readonly hostname: string
}

const VERSION = 3

export function onionAddress(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new Error('an ed25519 public key has 32 bytes')
  const prefix = new TextEncoder().encode('.onion checksum')
  const checksum = sha3_256(new Uint8Array([...prefix, ...publicKey, VERSION])).slice(0, 2)
  return (
    base32.encode(new Uint8Array([...publicKey, ...checksum, VERSION])).toLowerCase() + '.onion'
  )
}

/** The public key inside a v3 onion address; throws on a bad checksum or version. */
export function onionPublicKey(hostname: string): Uint8Array {
  const m = /^([a-z2-7]{56})\.onion$/.exec(hostname.trim().toLowerCase())
  if (!m) throw new Error('not a v3 onion address')
  const raw = base32.decode(m[1]!.toUpperCase())
  const publicKey = raw.slice(0, 32)
  if (raw[34] !== VERSION || onionAddress(publicKey) !== `${m[1]}.onion`)
    throw new Error('the onion address checksum does not match')
  return publicKey
}

export function onionKeyFromSeed(seed: Uint8Array): OnionKey {
  if (seed.length !== 32) throw new Error('an ed25519 seed has 32 bytes')
  const publicKey = ed25519.getPublicKey(seed)
  return { seed, publicKey, hostname: onionAddress(publicKey) }
}

export function newOnionKey(): OnionKey {
  return onionKeyFromSeed(ed25519.utils.randomSecretKey())
}

function tagged(tag: string, body: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`== ${tag}: type0 ==`)
  const out = new Uint8Array(32 + body.length)
  out.set(head, 0) // 29 bytes, then 3 NULs
  out.set(body, 32)
  return out
}

/** The three files tor reads from a HiddenServiceDir. */
export function hiddenServiceFiles(key: OnionKey): Record<string, Uint8Array> {
  const h = sha512(key.seed)
  const expanded = new Uint8Array(64)
  expanded.set(h)
  expanded[0]! &= 248
  expanded[31]! &= 127
  expanded[31]! |= 64
  return {
    hs_ed25519_secret_key: tagged('ed25519v1-secret', expanded),
    hs_ed25519_public_key: tagged('ed25519v1-public', key.publicKey),
    hostname: new TextEncoder().encode(key.hostname + '\n'),
  }
}
