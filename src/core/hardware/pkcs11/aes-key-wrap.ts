// The HSM guarding a secret of the box (the box key of src/core/secrets): an AES-256 key made
// inside the token (never extractable) wraps the secret with CKM_AES_KEY_WRAP_PAD (RFC 5649, AES
// key wrap with padding; PKCS#11 v2.40 §2.14). The wrapped blob can sit on disk: it opens only
// with the same token present and unlocked.
import pkcs11js from 'pkcs11js'
import { FlashError } from '../../errors'
import type { TokenSession } from './pkcs11-token'

type Handle = Buffer

/** The AES wrapping key under `label`, made on the token if it is not there yet. */
export function ensureWrappingKey(session: TokenSession, label: string): Handle {
  const found = session.call((lib, s) => {
    lib.C_FindObjectsInit(s, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_LABEL, value: label },
    ])
    try {
      return lib.C_FindObjects(s, 1)[0]
    } finally {
      lib.C_FindObjectsFinal(s)
    }
  })
  if (found) return found
  return session.call((lib, s) =>
    lib.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_WRAP, value: true },
      { type: pkcs11js.CKA_UNWRAP, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]),
  )
}

const WRAP = { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }

// The secret travels as a session object (never stored on the token), destroyed right after.
const secretTemplate = (): pkcs11js.Template => [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_SENSITIVE, value: false },
  { type: pkcs11js.CKA_EXTRACTABLE, value: true },
]

/**
 * `secret` wrapped by the token's AES key (RFC 5649 blob: the secret's length + 8). Only secrets
 * whose length is a multiple of 8 (the box key is 32 bytes): SoftHSM2 2.6 hands a padded secret
 * back with its zero padding still on, so a shorter one would not come back exactly.
 */
export function wrapSecret(session: TokenSession, wrappingKey: Handle, secret: Uint8Array): Buffer {
  if (secret.length === 0 || secret.length % 8 !== 0)
    throw new Error('wrapSecret takes a secret whose length is a multiple of 8 bytes')
  return session.call((lib, s) => {
    const obj = lib.C_CreateObject(s, [
      ...secretTemplate(),
      { type: pkcs11js.CKA_VALUE, value: Buffer.from(secret) },
    ])
    try {
      return lib.C_WrapKey(s, WRAP, wrappingKey, obj, Buffer.alloc(secret.length + 16))
    } finally {
      lib.C_DestroyObject(s, obj)
    }
  })
}

/** The secret back from its wrapped blob; refused (in plain words) by any other token or key. */
export function unwrapSecret(
  session: TokenSession,
  wrappingKey: Handle,
  wrapped: Uint8Array,
): Buffer {
  let obj: Handle
  try {
    obj = session.call((lib, s) =>
      lib.C_UnwrapKey(s, WRAP, wrappingKey, Buffer.from(wrapped), secretTemplate()),
    )
  } catch (err) {
    throw new FlashError(
      'hsm.unwrap_failed',
      'The HSM could not open this wrapped secret: it was wrapped by another HSM key, or it is damaged.',
      'Plug in the HSM the box was set up with (Settings → HSM), then try again.',
      { cause: err },
    )
  }
  return session.call((lib, s) => {
    try {
      const [value] = lib.C_GetAttributeValue(s, obj, [{ type: pkcs11js.CKA_VALUE }])
      return Buffer.from(value!.value as Buffer)
    } finally {
      lib.C_DestroyObject(s, obj)
    }
  })
}
