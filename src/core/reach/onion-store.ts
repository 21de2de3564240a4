// The box's onion keys: made once and kept in the stack's secrets (<data>/secrets/onion-keys.json,
// 0600, so backups carry them), and written as the HiddenServiceDirs tor reads
// (<data>/tor/hs/<name>: directory 0700, key files 0600). The same address on every start.
//
// The stored copy is sealed under the box key (purpose 'tor.onion-keys'); only the addresses
// (public: they are what the box publishes) stay readable beside it. Tor itself can only read its
// keys as plain files from its HiddenServiceDir when it starts, so that runtime copy is in clear
// (README, "What is not encrypted"). While the box is locked the runtime copy written at an
// earlier start is used as it is; a key that is not there yet needs the box unlocked.
//
// Version 1 of the file kept the seeds in clear. It stays in use while the box has no owner
// password (there is no box key to seal with) and is sealed on the next unlock.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import { redact } from '../log'
import { isSealed, lockedError, type BoxKey } from '../secrets/box-key'
import { createSecretFileExclusive, writeSecretFileAtomic } from '../secrets/secret-file'
import { stackPaths } from '../stack/paths'
import { hiddenServiceFiles, newOnionKey, onionKeyFromSeed, type OnionKey } from './onion-keys'
import type { OnionServiceName } from './torrc'

export const ONION_KEYS_PURPOSE = 'tor.onion-keys'

const Seeds = z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/))
const OnionKeysFileV1 = z.object({ version: z.literal(1), keys: Seeds })
const OnionKeysFileV2 = z.object({
  version: z.literal(2),
  /** Each service's onion address (public). */
  hostnames: z.record(z.string(), z.string().regex(/^[a-z2-7]{56}\.onion$/)),
  /** JSON { name: seed hex } sealed under the box key. */
  sealed: z.string().refine(isSealed),
})
const OnionKeysFile = z.discriminatedUnion('version', [OnionKeysFileV1, OnionKeysFileV2])
type OnionKeysFile = z.infer<typeof OnionKeysFile>

/** What the store needs of the box key (src/core/secrets/box-key.ts). */
export type OnionKeyBox = Pick<BoxKey, 'state' | 'unlocked' | 'seal' | 'open' | 'requireUnlocked'>

export function onionKeysPath(stackDataDir: string): string {
  return join(stackPaths(stackDataDir).secretsDir, 'onion-keys.json')
}

export function torDir(stackDataDir: string): string {
  return stackPaths(stackDataDir).service('tor')
}

function damaged(err?: unknown): FlashError {
  return new FlashError(
    'tor.keys_damaged',
    'The file holding your onion addresses’ keys is damaged.',
    'Restore it from a backup (secrets/onion-keys.json in the data folder). Removing it gives your onion services new addresses.',
    { cause: err },
  )
}

function readFile(path: string): OnionKeysFile | undefined {
  if (!existsSync(path)) return undefined
  try {
    return OnionKeysFile.parse(JSON.parse(readFileSync(path, 'utf8')))
  } catch (err) {
    throw damaged(err)
  }
}

/** The seeds of the file (opening a sealed one needs the box unlocked). */
function seedsOf(file: OnionKeysFile | undefined, box: OnionKeyBox | undefined) {
  if (!file) return {}
  if (file.version === 1) return file.keys
  if (!box) throw lockedError()
  box.requireUnlocked()
  let seeds: Record<string, string>
  try {
    seeds = Seeds.parse(JSON.parse(box.open(ONION_KEYS_PURPOSE, file.sealed).toString('utf8')))
  } catch (err) {
    if (err instanceof FlashError && err.code !== 'box.sealed_damaged') throw err
    throw damaged(err)
  }
  for (const s of Object.values(seeds)) redact(s)
  return seeds
}

function fileText(seeds: Record<string, string>, box: OnionKeyBox | undefined): string {
  if (!box?.unlocked) return JSON.stringify({ version: 1, keys: seeds }, null, 2) + '\n'
  const hostnames = Object.fromEntries(
    Object.entries(seeds).map(([n, s]) => [n, onionKeyFromSeed(hexToBytes(s)).hostname]),
  )
  const file: OnionKeysFile = {
    version: 2,
    hostnames,
    sealed: box.seal(ONION_KEYS_PURPOSE, JSON.stringify(seeds)),
  }
  return JSON.stringify(file, null, 2) + '\n'
}

/**
 * The keys of these onion services: the saved ones, and new ones saved for the rest. With a box
 * key the file is (re)written sealed; without `box`, or before the owner set a password, it is
 * the plain version 1. Throws box.locked when the keys are sealed and the box is locked.
 */
export function loadOrCreateOnionKeys(
  stackDataDir: string,
  names: readonly OnionServiceName[],
  box?: OnionKeyBox,
): Record<OnionServiceName, OnionKey> {
  const path = onionKeysPath(stackDataDir)
  const file = readFile(path)
  const saved = seedsOf(file, box)
  const missing = names.filter((n) => !saved[n])
  const reseal = file?.version === 1 && !!box?.unlocked
  if (missing.length || reseal) {
    // Once the box has a key, no onion key is written in clear again.
    if (box && box.state !== 'none') box.requireUnlocked()
    const next = { ...saved }
    for (const n of missing) next[n] = bytesToHex(newOnionKey().seed)
    const text = fileText(next, box)
    if (!file && !existsSync(path)) {
      // Two starts racing: the first writer wins and both use its keys.
      if (!createSecretFileExclusive(path, text))
        return loadOrCreateOnionKeys(stackDataDir, names, box)
    } else {
      writeSecretFileAtomic(path, text)
    }
    Object.assign(saved, next)
  }
  const out = {} as Record<OnionServiceName, OnionKey>
  for (const n of names) out[n] = onionKeyFromSeed(hexToBytes(saved[n]!))
  return out
}

/** The box's onion addresses as stored (no secret needed); empty before Tor's first start. */
export function storedOnionHostnames(stackDataDir: string): Record<string, string> {
  let file: OnionKeysFile | undefined
  try {
    file = readFile(onionKeysPath(stackDataDir))
  } catch {
    return {} // the stack's start reports a damaged file
  }
  if (!file) return {}
  if (file.version === 2) return file.hostnames
  return Object.fromEntries(
    Object.entries(file.keys).map(([n, s]) => [n, onionKeyFromSeed(hexToBytes(s)).hostname]),
  )
}

/** Moves a version 1 file under the box key (on unlock). Returns whether it did. */
export function sealOnionKeysFile(stackDataDir: string, box: OnionKeyBox): boolean {
  const file = readFile(onionKeysPath(stackDataDir))
  if (file?.version !== 1 || !box.unlocked) return false
  loadOrCreateOnionKeys(stackDataDir, [], box)
  return true
}

/**
 * Writes what tor reads for these services under `hsRoot`. A HiddenServiceDir already holding the
 * stored address is left as it is, so a locked box still starts Tor with the same addresses.
 */
export function prepareHiddenServiceDirs(
  stackDataDir: string,
  hsRoot: string,
  names: readonly OnionServiceName[],
  box?: OnionKeyBox,
): void {
  const hostnames = storedOnionHostnames(stackDataDir)
  const current = (n: string) => {
    const dir = join(hsRoot, n)
    if (!hostnames[n] || !existsSync(join(dir, 'hs_ed25519_secret_key'))) return false
    try {
      return readFileSync(join(dir, 'hostname'), 'utf8').trim() === hostnames[n]
    } catch {
      return false
    }
  }
  if (names.every(current)) return
  writeHiddenServiceDirs(hsRoot, loadOrCreateOnionKeys(stackDataDir, names, box))
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
