// The box's onion keys: made once, kept in the stack's secrets (<data>/secrets/onion-keys.json,
// 0600, so backups carry them), and written as the HiddenServiceDirs tor reads
// (<data>/tor/hs/<name>: directory 0700, key files 0600). The same address on every start.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import { createSecretFileExclusive, writeSecretFileAtomic } from '../secrets/secret-file'
import { stackPaths } from '../stack/paths'
import { hiddenServiceFiles, newOnionKey, onionKeyFromSeed, type OnionKey } from './onion-keys'
import type { OnionServiceName } from './torrc'

const OnionKeysFile = z.object({
  version: z.literal(1),
  keys: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
})

export function onionKeysPath(stackDataDir: string): string {
  return join(stackPaths(stackDataDir).secretsDir, 'onion-keys.json')
}

export function torDir(stackDataDir: string): string {
  return stackPaths(stackDataDir).service('tor')
}

function read(path: string): Record<string, string> {
  if (!existsSync(path)) return {}
  try {
    return OnionKeysFile.parse(JSON.parse(readFileSync(path, 'utf8'))).keys
  } catch (err) {
    throw new FlashError(
      'tor.keys_damaged',
      'The file holding your onion addresses’ keys is damaged.',
      'Restore it from a backup (secrets/onion-keys.json in the data folder). Removing it gives your onion services new addresses.',
      { cause: err },
    )
  }
}

/** The keys of these onion services: the saved ones, and new ones saved for the rest. */
export function loadOrCreateOnionKeys(
  stackDataDir: string,
  names: readonly OnionServiceName[],
): Record<OnionServiceName, OnionKey> {
  const path = onionKeysPath(stackDataDir)
  const saved = read(path)
  const missing = names.filter((n) => !saved[n])
  if (missing.length) {
    const next = { ...saved }
    for (const n of missing) next[n] = bytesToHex(newOnionKey().seed)
    const text = JSON.stringify({ version: 1, keys: next }, null, 2) + '\n'
    if (Object.keys(saved).length === 0 && !existsSync(path)) {
      // Two starts racing: the first writer wins and both use its keys.
      if (!createSecretFileExclusive(path, text)) return loadOrCreateOnionKeys(stackDataDir, names)
    } else {
      writeSecretFileAtomic(path, text)
    }
    Object.assign(saved, next)
  }
  const out = {} as Record<OnionServiceName, OnionKey>
  for (const n of names) out[n] = onionKeyFromSeed(hexToBytes(saved[n]!))
  return out
}

/** Writes each key as a HiddenServiceDir under `hsRoot` (tor refuses group/other access). */
export function writeHiddenServiceDirs(
  hsRoot: string,
  keys: Partial<Record<OnionServiceName, OnionKey>>,
): void {
  mkdirSync(hsRoot, { recursive: true, mode: 0o700 })
  chmodSync(hsRoot, 0o700)
  for (const [name, key] of Object.entries(keys)) {
    if (!key) continue
    const dir = join(hsRoot, name)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    chmodSync(dir, 0o700)
    for (const [file, bytes] of Object.entries(hiddenServiceFiles(key)))
      writeFileAtomicSync(join(dir, file), Buffer.from(bytes), 0o600)
  }
}
