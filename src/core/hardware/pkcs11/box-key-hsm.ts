// The HSM that wraps the box key (src/core/secrets/box-key.ts BoxKeyHsm): a PKCS#11 token, its
// never-extractable AES-256 key under `keyLabel` (made on first use), CKM_AES_KEY_WRAP_PAD
// (aes-key-wrap.ts). Each call opens its own logged-in session and closes it.
import type { BoxKeyHsm } from '../../secrets/box-key'
import { ensureWrappingKey, unwrapSecret, wrapSecret } from './aes-key-wrap'
import { TokenSession, type TokenLogin } from './pkcs11-token'

export const BOX_KEY_HSM_LABEL = 'flash-box box key'

export function boxKeyHsm(login: TokenLogin, keyLabel = BOX_KEY_HSM_LABEL): BoxKeyHsm {
  const withKey = <T>(fn: (s: TokenSession, key: Buffer) => T): T => {
    const s = TokenSession.open(login)
    try {
      return fn(s, ensureWrappingKey(s, keyLabel))
    } finally {
      s.close()
    }
  }
  return {
    tokenSerial: login.tokenSerial,
    keyLabel,
    wrap: (key) => withKey((s, k) => wrapSecret(s, k, key)),
    unwrap: (blob) => withKey((s, k) => unwrapSecret(s, k, blob)),
  }
}
