// Checks a `docker save` archive before Docker ever sees it. An image's ID is the SHA-256 of its
// config, and the config lists the SHA-256 of every layer (rootfs.diff_ids), so reading the archive
// once and hashing each entry proves the whole image is exactly the pinned one: the config against
// the expected image ID, each layer against the config. Both archive layouts are read: Docker's
// legacy one (`<id>.json`, `<layer>/layer.tar`) and the OCI one (`blobs/sha256/<digest>`).
// https://github.com/moby/moby/blob/master/image/spec/spec.md (image ID, diff_ids)
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { posix } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { extract } from 'tar-stream'
import { z } from 'zod'
import { FlashError } from '../errors'

const ArchiveManifest = z.array(
  z.object({ Config: z.string(), Layers: z.array(z.string()), RepoTags: z.unknown().optional() }),
)
const ImageConfig = z.object({
  rootfs: z.object({ diff_ids: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/)) }),
})

/** Entries we keep the bytes of (the manifest and image configs are small; layers are not). */
const KEEP_BYTES = 4 * 1024 * 1024

export interface VerifiedArchive {
  readonly imageId: string
  readonly layers: number
  readonly bytes: number
}

function refused(file: string, why: string): FlashError {
  return new FlashError(
    'stack.bundle_digest_mismatch',
    `${file} in the offline image bundle is not the image it claims to be: ${why}. Flash Box did not load it.`,
    'Copy the offline bundle again from its original medium (the copy may be damaged or changed), then load it again in Settings → Images.',
  )
}

/**
 * Reads the archive at `path` and checks it holds exactly the image `expectedImageId`
 * (`sha256:…`): the config hashes to that ID and every layer to its diff_id in the config.
 */
export async function verifyImageArchive(
  path: string,
  expectedImageId: string,
  onBytes?: (bytes: number) => void,
): Promise<VerifiedArchive> {
  const file = posix.basename(path)
  const digests = new Map<string, string>()
  const kept = new Map<string, Buffer>()
  const links = new Map<string, string>()
  let total = 0
  const ex = extract()
  ex.on('entry', (header, stream, next) => {
    const name = posix.normalize(header.name).replace(/^\.\//, '')
    if (header.type === 'symlink' || header.type === 'link') {
      links.set(name, posix.normalize(posix.join(posix.dirname(name), header.linkname)))
      if (header.type === 'link') links.set(name, posix.normalize(header.linkname))
      stream.resume()
      stream.on('end', () => next())
      return
    }
    if (header.type !== 'file' && header.type !== 'contiguous-file') {
      stream.resume()
      stream.on('end', () => next())
      return
    }
    const hash = createHash('sha256')
    const chunks: Buffer[] = []
    let size = 0
    stream.on('data', (data: unknown) => {
      const chunk = data as Buffer
      hash.update(chunk)
      size += chunk.length
      total += chunk.length
      onBytes?.(total)
      if (size <= KEEP_BYTES) chunks.push(chunk)
    })
    stream.on('end', () => {
      digests.set(name, `sha256:${hash.digest('hex')}`)
      if (size <= KEEP_BYTES) kept.set(name, Buffer.concat(chunks))
      next()
    })
    stream.on('error', next)
  })
  try {
    await pipeline(createReadStream(path), ex)
  } catch (err) {
    throw new FlashError(
      'stack.bundle_unreadable',
      `${file} in the offline image bundle could not be read as an image archive: ${(err as Error).message}.`,
      'Copy the offline bundle again from its original medium, then load it again in Settings → Images.',
      { cause: err },
    )
  }
  const resolve = (name: string): string => {
    let n = posix.normalize(name)
    for (let i = 0; i < 8 && links.has(n); i++) n = links.get(n)!
    return n
  }
  const manifestBytes = kept.get('manifest.json')
  if (!manifestBytes) throw refused(file, 'it has no manifest.json (not made by docker save)')
  let manifest: z.infer<typeof ArchiveManifest>
  try {
    manifest = ArchiveManifest.parse(JSON.parse(manifestBytes.toString('utf8')))
  } catch {
    throw refused(file, 'its manifest.json is damaged')
  }
  if (manifest.length !== 1) throw refused(file, `it holds ${manifest.length} images, not one`)
  const entry = manifest[0]!
  const configName = resolve(entry.Config)
  const configDigest = digests.get(configName)
  if (configDigest !== expectedImageId) {
    throw refused(
      file,
      `its image ID is ${(configDigest ?? 'missing').slice(0, 19)}…, expected ${expectedImageId.slice(0, 19)}…`,
    )
  }
  let config: z.infer<typeof ImageConfig>
  try {
    config = ImageConfig.parse(JSON.parse(kept.get(configName)!.toString('utf8')))
  } catch {
    throw refused(file, 'its image config is damaged')
  }
  const diffIds = config.rootfs.diff_ids
  if (diffIds.length !== entry.Layers.length) {
    throw refused(file, `it has ${entry.Layers.length} layers, its config lists ${diffIds.length}`)
  }
  entry.Layers.forEach((layer, i) => {
    const got = digests.get(resolve(layer))
    if (got !== diffIds[i]) throw refused(file, `layer ${i + 1} does not match its digest`)
  })
  return { imageId: configDigest, layers: diffIds.length, bytes: total }
}
