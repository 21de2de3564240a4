// Boltcard deterministic key generation (boltcard/boltcard docs/DETERMINISTIC.md), as BTCPay
// Server's Boltcard support uses it: every card's keys follow from one issuer key, the card's UID
// and a version bumped on every re-programming, so nothing per-card secret is stored.
//   CardKey = PRF(IssuerKey, 2d003f75 ‖ UID ‖ Version(LE u32))
//   K0 = PRF(CardKey, 2d003f76)   K1 = PRF(IssuerKey, 2d003f77)   K2 = PRF(CardKey, 2d003f78)
//   K3 = PRF(CardKey, 2d003f79)   K4 = PRF(CardKey, 2d003f7a)     ID = PRF(IssuerKey, 2d003f7b ‖ UID)
// PRF is AES-CMAC.
import { aesCmac, concat, fromHex, type Bytes } from './aes-cmac'

export interface BoltcardKeys {
  readonly k0: Bytes
  readonly k1: Bytes
  readonly k2: Bytes
  readonly k3: Bytes
  readonly k4: Bytes
}

const tag = (t: string) => fromHex(t)

function checkUid(uid: Bytes): void {
  if (uid.length !== 7) throw new RangeError('a Boltcard UID is 7 bytes')
}

function le32(n: number): Bytes {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('bad key version')
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff)
}

export function cardKey(issuerKey: Bytes, uid: Bytes, version: number): Bytes {
  checkUid(uid)
  return aesCmac(issuerKey, concat(tag('2d003f75'), uid, le32(version)))
}

/** The card's ID: names it in the database without storing its UID. */
export function cardId(issuerKey: Bytes, uid: Bytes): Bytes {
  checkUid(uid)
  return aesCmac(issuerKey, concat(tag('2d003f7b'), uid))
}

/** K1 alone: the same for every card of an issuer, so a tap's `p` can be opened first. */
export const encryptionKey = (issuerKey: Bytes): Bytes => aesCmac(issuerKey, tag('2d003f77'))

export function deriveKeys(issuerKey: Bytes, uid: Bytes, version: number): BoltcardKeys {
  const ck = cardKey(issuerKey, uid, version)
  return {
    k0: aesCmac(ck, tag('2d003f76')),
    k1: encryptionKey(issuerKey),
    k2: aesCmac(ck, tag('2d003f78')),
    k3: aesCmac(ck, tag('2d003f79')),
    k4: aesCmac(ck, tag('2d003f7a')),
  }
}
