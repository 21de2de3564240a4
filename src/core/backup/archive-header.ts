// The header of a backup archive (".fbbackup"):
//
//   "FLASHBOX BACKUP\n"  16 bytes
//   header length       4 bytes, big-endian
//   header              JSON (below)
//   header MAC          32 bytes, HMAC-SHA256 under a key derived from the box key
//   payload             STREAM-encrypted tar (stream-aead.ts), manifest.json as its last entry
//
// The header carries the box key wrapped under the owner's password exactly as box-key.json
// held it when the backup was made. A scheduled backup therefore needs only the unlocked box key
// (no password typed), and a restore on a fresh install needs only the file and that password.
// The payload key and the MAC key are HKDF(box key, salt) with distinct labels.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { FlashError } from '../errors'
import { WrappedBoxKeySchema, unwrapBoxKey, type WrappedBoxKey } from '../secrets/box-key'
import { archiveDamaged } from './stream-aead'

export const MAGIC = Buffer.from('FLASHBOX BACKUP\n')
export const ARCHIVE_FORMAT = 1
const MAC_BYTES = 32
const MAX_HEADER = 64 * 1024

export const ArchiveHeaderSchema = z.object({
  format: z.number().int().min(1),
  app: z.object({ name: z.literal('flashbox'), version: z.string() }),
  createdAt: z.string(),
  boxKey: WrappedBoxKeySchema,
  salt: z.string().regex(/^[A-Za-z0-9+/]+=*$/),
  chunkSize: z.number().int(),
})
export type ArchiveHeader = z.infer<typeof ArchiveHeaderSchema>

export function archiveKeys(boxKey: Uint8Array, salt: Buffer) {
  const k = (label: string) =>
    Buffer.from(hkdfSync('sha256', boxKey, salt, `flashbox backup v1 ${label}`, 32))
  return { payload: k('payload'), mac: k('header') }
}

export function newHeader(
  wrapped: WrappedBoxKey,
  appVersion: string,
  chunkSize: number,
): ArchiveHeader {
  return {
    format: ARCHIVE_FORMAT,
    app: { name: 'flashbox', version: appVersion },
    createdAt: new Date().toISOString(),
    boxKey: wrapped,
    salt: randomBytes(16).toString('base64'),
    chunkSize,
  }
}

/** The bytes before the payload: magic, length, header JSON, MAC. */
export function encodeHeader(header: ArchiveHeader, macKey: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(4)
  len.writeUInt32BE(json.length)
  const body = Buffer.concat([MAGIC, len, json])
  return Buffer.concat([body, createHmac('sha256', macKey).update(body).digest()])
}

export function notABackup(): FlashError {
  return new FlashError(
    'backup.not_an_archive',
    'This file is not a Flash Box backup.',
    'Pick a file whose name ends in .fbbackup, made by Settings → Backup.',
  )
}

/** Splits the start of an archive; null while `buf` is still too short to tell. */
export function parseHeader(
  buf: Buffer,
): { header: ArchiveHeader; raw: Buffer; mac: Buffer; payloadStart: number } | null {
  if (buf.length < MAGIC.length + 4) return null
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw notABackup()
  const len = buf.readUInt32BE(MAGIC.length)
  if (len > MAX_HEADER) throw archiveDamaged()
  const end = MAGIC.length + 4 + len
  if (buf.length < end + MAC_BYTES) return null
  let json: unknown
  try {
    json = JSON.parse(buf.subarray(MAGIC.length + 4, end).toString('utf8'))
  } catch {
    throw archiveDamaged()
  }
  const format = (json as { format?: unknown } | null)?.format
  if (typeof format === 'number' && format > ARCHIVE_FORMAT) throw newerVersion()
  const r = ArchiveHeaderSchema.safeParse(json)
  if (!r.success) throw archiveDamaged()
  return {
    header: r.data,
    raw: buf.subarray(0, end),
    mac: buf.subarray(end, end + MAC_BYTES),
    payloadStart: end + MAC_BYTES,
  }
}

export function newerVersion(version?: string): FlashError {
  return new FlashError(
    'backup.newer_version',
    `This backup was made by a newer Flash Box${version ? ` (${version})` : ''} than this one, so it cannot be restored here.`,
    'Install the latest Flash Box, then restore the backup again.',
  )
}

export function wrongArchivePassword(): FlashError {
  return new FlashError(
    'backup.wrong_password',
    'That password does not open this backup.',
    'Type the owner password the box had when this backup was made. Nothing on this box was changed.',
  )
}

/** Numeric semver compare (major.minor.patch; anything after '-' is ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .split('-')[0]!
      .split('.')
      .map((x) => Number.parseInt(x, 10) || 0)
  const pa = parts(a)
  const pb = parts(b)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/**
 * Opens the header with a password (restore) or the box key itself (the scheduled test-restore):
 * returns the payload key. Throws on a wrong password, a newer version or an altered header.
 */
export async function openHeader(
  parsed: { header: ArchiveHeader; raw: Buffer; mac: Buffer },
  secret: { password: string } | { boxKey: Uint8Array },
  appVersion: string,
): Promise<{ payloadKey: Buffer; boxKey: Buffer }> {
  if (compareVersions(parsed.header.app.version, appVersion) > 0)
    throw newerVersion(parsed.header.app.version)
  let boxKey: Buffer | null
  if ('password' in secret) {
    boxKey = await unwrapBoxKey(parsed.header.boxKey, secret.password)
    if (!boxKey) throw wrongArchivePassword()
  } else {
    boxKey = Buffer.from(secret.boxKey)
  }
  const keys = archiveKeys(boxKey, Buffer.from(parsed.header.salt, 'base64'))
  const want = createHmac('sha256', keys.mac).update(parsed.raw).digest()
  if (!timingSafeEqual(want, parsed.mac)) {
    // With a password that opened the wrapped key, a bad MAC means the header was altered; with
    // the box key, it may also be another box's archive.
    throw 'password' in secret ? archiveDamaged() : wrongArchivePassword()
  }
  return { payloadKey: keys.payload, boxKey }
}
