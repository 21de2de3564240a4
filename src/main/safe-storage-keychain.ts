// The box key in the OS keychain (core's BoxKeychain, src/core/secrets/box-key.ts), through
// Electron's safeStorage: the key is encrypted with the login keychain (macOS Keychain, Windows
// DPAPI, libsecret/kwallet on Linux) and the result kept (base64, 0600) under userData. On Linux without a
// secret service safeStorage falls back to a fixed key ("basic_text"), which protects nothing:
// there the keychain is reported as unavailable.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { safeStorage } from 'electron'
import type { BoxKeychain } from '../core/secrets/box-key'
import { writeSecretFileAtomic } from '../core/secrets/secret-file'

export function safeStorageKeychain(userDataDir: string): BoxKeychain {
  const path = join(userDataDir, 'box-key.keychain')
  const available = () => {
    if (!safeStorage.isEncryptionAvailable()) return false
    const backend = (
      safeStorage as unknown as { getSelectedStorageBackend?: () => string }
    ).getSelectedStorageBackend?.()
    return backend !== 'basic_text'
  }
  return {
    available,
    load() {
      if (!available() || !existsSync(path)) return null
      try {
        const sealed = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
        const hex = safeStorage.decryptString(sealed)
        return Uint8Array.from(Buffer.from(hex, 'hex'))
      } catch {
        return null // another user's or machine's keychain: the owner unlocks with the password
      }
    },
    store(key) {
      writeSecretFileAtomic(
        path,
        safeStorage.encryptString(Buffer.from(key).toString('hex')).toString('base64') + '\n',
      )
    },
    clear() {
      rmSync(path, { force: true })
    },
  }
}
