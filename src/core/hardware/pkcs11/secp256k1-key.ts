// A secp256k1 key made and kept inside a PKCS#11 token: the private half is generated on the
// token with CKA_SENSITIVE and without CKA_EXTRACTABLE, so it never leaves; only its public point
// and ECDSA signatures come out.
import { randomBytes } from 'node:crypto'
import pkcs11js from 'pkcs11js'
import { FlashError } from '../../errors'
import { compressedFromEcPoint, lowS, SECP256K1_EC_PARAMS } from '../ecdsa-encoding'
import type { TokenSession } from './pkcs11-token'

type Handle = Buffer

export interface HsmKey {
  label: string
  /** CKA_ID, hex: ties the private and public objects together. */
  id: string
  /** 33-byte compressed public key. */
  publicKey: Uint8Array
  privateHandle: Handle
}

/** Generates a new key pair on the token under `label` (a label already in use is refused). */
export function generateSecp256k1Key(session: TokenSession, label: string): HsmKey {
  if (findSecp256k1Key(session, label))
    throw new FlashError(
      'hsm.key_exists',
      `The HSM already holds a key named “${label}”.`,
      'Use that key, or choose another name.',
    )
  const id = randomBytes(16)
  const { publicKey, privateKey } = session.call((lib, s) =>
    lib.C_GenerateKeyPair(
      s,
      { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(SECP256K1_EC_PARAMS) },
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_ID, value: id },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_ID, value: id },
      ],
    ),
  )
  return {
    label,
    id: id.toString('hex'),
    publicKey: readPoint(session, publicKey),
    privateHandle: privateKey,
  }
}

function findOne(session: TokenSession, template: pkcs11js.Template): Handle | undefined {
  return session.call((lib, s) => {
    lib.C_FindObjectsInit(s, template)
    try {
      return lib.C_FindObjects(s, 2)[0]
    } finally {
      lib.C_FindObjectsFinal(s)
    }
  })
}

function readPoint(session: TokenSession, publicHandle: Handle): Uint8Array {
  const [attr] = session.call((lib, s) =>
    lib.C_GetAttributeValue(s, publicHandle, [{ type: pkcs11js.CKA_EC_POINT }]),
  )
  return compressedFromEcPoint(attr!.value as Buffer)
}

/** The key pair under `label`, or undefined. Both halves must be there and be secp256k1. */
export function findSecp256k1Key(session: TokenSession, label: string): HsmKey | undefined {
  const privateHandle = findOne(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_LABEL, value: label },
  ])
  if (!privateHandle) return undefined
  const [idAttr, params] = session.call((lib, s) =>
    lib.C_GetAttributeValue(s, privateHandle, [
      { type: pkcs11js.CKA_ID },
      { type: pkcs11js.CKA_EC_PARAMS },
    ]),
  )
  if (!Buffer.from(SECP256K1_EC_PARAMS).equals(params!.value as Buffer))
    throw new FlashError(
      'hsm.key_wrong_curve',
      `The key “${label}” on the HSM is not a secp256k1 key.`,
      'Choose another key name in Settings → HSM so Flash Box makes a new secp256k1 key.',
    )
  const publicHandle = findOne(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_ID, value: idAttr!.value as Buffer },
  ])
  if (!publicHandle)
    throw new FlashError(
      'hsm.key_incomplete',
      `The HSM has the private key “${label}” but not its public half.`,
      'Choose another key name in Settings → HSM; this one cannot be used as a cosigner.',
    )
  return {
    label,
    id: (idAttr!.value as Buffer).toString('hex'),
    publicKey: readPoint(session, publicHandle),
    privateHandle,
  }
}

/** What the token says about the private key's protection (read-only attributes). */
export function keyProtection(
  session: TokenSession,
  key: HsmKey,
): { sensitive: boolean; extractable: boolean; neverExtractable: boolean } {
  const attrs = session.call((lib, s) =>
    lib.C_GetAttributeValue(s, key.privateHandle, [
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
      { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
    ]),
  )
  const flag = (i: number) => (attrs[i]!.value as Buffer)[0] === 1
  return { sensitive: flag(0), extractable: flag(1), neverExtractable: flag(2) }
}

export interface HsmSignature {
  /** 64 bytes r‖s, low S. */
  compact: Uint8Array
  /** The token's S was high and was replaced by n − S. */
  normalised: boolean
}

/** ECDSA over a 32-byte digest with CKM_ECDSA (the token signs the digest as given). */
export function signDigest(session: TokenSession, key: HsmKey, digest: Uint8Array): HsmSignature {
  if (digest.length !== 32) throw new Error('signDigest takes a 32-byte digest')
  const raw = session.call((lib, s) => {
    lib.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateHandle)
    return lib.C_Sign(s, Buffer.from(digest), Buffer.alloc(64))
  })
  return lowS(raw)
}
