// The relay's own key (NIP-11 `self`; signs NIP-29 group metadata). Generated once, stored as
// hex in a 0600 file written atomically (temp file, fsync, rename, fsync directory).
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

export interface RelayKey {
  readonly secretKey: Uint8Array
  readonly pubkey: string
}

export function writeFileAtomic(path: string, contents: string, mode = 0o600): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', mode)
  try {
    writeSync(fd, contents)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

/** Loads the relay key from `path`, creating it on first use. `onSecret` lets the host redact it. */
export function loadOrCreateRelayKey(path: string, onSecret?: (hex: string) => void): RelayKey {
  let hex: string
  try {
    hex = readFileSync(path, 'utf8').trim()
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`relay key file ${path} is damaged`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    hex = bytesToHex(generateSecretKey())
    writeFileAtomic(path, hex + '\n', 0o600)
  }
  onSecret?.(hex)
  const secretKey = hexToBytes(hex)
  return { secretKey, pubkey: getPublicKey(secretKey) }
}
