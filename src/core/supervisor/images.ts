// Images are trusted by digest only. Before a container is created the supervisor checks that the
// local image is exactly the pinned one (registry images: the manifest digest in RepoDigests, or an
// image ID recorded in the offline bundle's manifest; images built here: the image ID recorded at
// build). Missing images are pulled with per-layer progress, or loaded from an offline bundle
// directory of `docker save` tarballs.
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { z } from 'zod'
import type { LayerProgress } from '../../shared/api/stack'
import { FlashError } from '../errors'
import type { PinnedImage } from '../stack/spec'

export function imageLabel(image: PinnedImage): string {
  return `${image.repository}:${image.tag}`
}

/** The offline bundle: `manifest.json` beside the tarballs, written when the bundle was made. */
const BundleManifestSchema = z.array(
  z.object({
    /** `repository@sha256:…` as pinned in the catalog. */
    ref: z.string(),
    /** Tarball file name inside the bundle directory (`docker save` output). */
    file: z.string().regex(/^[^/\\]+$/),
    /** Image ID (`sha256:…` of the config) that `docker load` must produce. */
    imageId: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  }),
)
export type BundleManifest = z.infer<typeof BundleManifestSchema>

export function readBundleManifest(bundleDir: string | undefined): BundleManifest {
  if (!bundleDir) return []
  const path = join(bundleDir, 'manifest.json')
  if (!existsSync(path)) return []
  const parsed = BundleManifestSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')))
  if (!parsed.success) {
    throw new FlashError(
      'stack.bundle_invalid',
      `The offline image bundle in ${bundleDir} has a damaged manifest.json.`,
      'Copy the offline bundle again from its original medium, then load it again in Settings → Images.',
    )
  }
  return parsed.data
}

interface ImageInspect {
  Id: string
  RepoDigests?: string[] | null
  RepoTags?: string[] | null
}

async function inspect(docker: Docker, ref: string): Promise<ImageInspect | undefined> {
  try {
    return (await docker.getImage(ref).inspect()) as ImageInspect
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined
    throw err
  }
}

export type ImageCheck =
  { readonly ok: true; readonly ref: string } | { readonly ok: false; readonly reason: 'missing' }

function mismatch(serviceName: string, image: PinnedImage, found: string): FlashError {
  return new FlashError(
    'stack.image_digest_mismatch',
    `The image for ${serviceName} (${imageLabel(image)}) on this computer is not the one Flash Box expects: it has ${found.slice(0, 19)}…, expected ${image.digest.slice(0, 19)}…. Flash Box refuses to run it.`,
    'Someone or something replaced this image. Press Download again in Settings → Images to fetch the pinned image, or load the offline bundle that came with this version of Flash Box there.',
  )
}

/**
 * Is the exact pinned image here? Returns the reference to create the container from.
 * Throws `stack.image_digest_mismatch` when an image with this name is here but differs.
 */
export async function checkImage(
  docker: Docker,
  image: PinnedImage,
  serviceName: string,
  bundle: BundleManifest = [],
): Promise<ImageCheck> {
  if (image.builtHere) {
    const byId = await inspect(docker, image.digest)
    const byTag = await inspect(docker, imageLabel(image))
    if (byTag && byTag.Id !== image.digest) throw mismatch(serviceName, image, byTag.Id)
    if (byId) return { ok: true, ref: image.digest }
    return { ok: false, reason: 'missing' }
  }
  const pinned = `${image.repository}@${image.digest}`
  const byDigest = await inspect(docker, pinned)
  if (byDigest?.RepoDigests?.includes(pinned)) return { ok: true, ref: pinned }
  const fromBundle = bundle.find((b) => b.ref === pinned)
  if (fromBundle) {
    const loaded = await inspect(docker, fromBundle.imageId)
    if (loaded) return { ok: true, ref: fromBundle.imageId }
  }
  return { ok: false, reason: 'missing' }
}

export interface PullProgress {
  readonly layers: readonly LayerProgress[]
  readonly current: number
  readonly total: number
  readonly done: boolean
}

interface ProgressEvent {
  id?: string
  status?: string
  error?: string
  progressDetail?: { current?: number; total?: number }
}

/** Pulls `repository@digest`, reporting per-layer progress. */
export async function pullImage(
  docker: Docker,
  image: PinnedImage,
  serviceName: string,
  onProgress: (p: PullProgress) => void,
): Promise<void> {
  const ref = `${image.repository}@${image.digest}`
  const layers = new Map<string, LayerProgress>()
  const snapshot = (done: boolean): PullProgress => {
    const ls = [...layers.values()]
    return {
      layers: ls,
      current: ls.reduce((s, l) => s + l.current, 0),
      total: ls.reduce((s, l) => s + l.total, 0),
      done,
    }
  }
  let lastEmit = 0
  try {
    const stream = await docker.pull(ref)
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, output: ProgressEvent[]) => {
          const failed = output?.find((o) => o.error)
          if (err || failed) reject(err ?? new Error(failed!.error))
          else resolve()
        },
        (ev: ProgressEvent) => {
          if (!ev.id || ev.id === image.tag || ev.id === image.digest) return
          const prev = layers.get(ev.id)
          const total = ev.progressDetail?.total ?? prev?.total ?? 0
          const finished = /complete|already exists/i.test(ev.status ?? '')
          layers.set(ev.id, {
            id: ev.id,
            status: ev.status ?? '',
            total,
            current: finished ? total : (ev.progressDetail?.current ?? prev?.current ?? 0),
          })
          const now = Date.now()
          if (now - lastEmit > 250) {
            lastEmit = now
            onProgress(snapshot(false))
          }
        },
      )
    })
  } catch (err) {
    throw new FlashError(
      'stack.image_missing_offline',
      `The image for ${serviceName} (${imageLabel(image)}) is not on this computer and could not be downloaded: ${(err as Error).message}`,
      'Check the internet connection and press Download again in Settings → Images, or load the offline image bundle there if this computer stays offline.',
      { cause: err },
    )
  }
  onProgress(snapshot(true))
}

/** Loads one image from the offline bundle and checks it is exactly the pinned one. */
export async function loadFromBundle(
  docker: Docker,
  bundleDir: string,
  entry: BundleManifest[number],
  image: PinnedImage,
  serviceName: string,
): Promise<string> {
  const path = join(bundleDir, entry.file)
  if (!existsSync(path)) {
    throw new FlashError(
      'stack.bundle_incomplete',
      `The offline image bundle has no ${entry.file} (the image for ${serviceName}).`,
      'Copy the complete offline bundle again, then load it again in Settings → Images.',
    )
  }
  const stream = await docker.loadImage(createReadStream(path), { quiet: true })
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: ProgressEvent[]) => {
      const failed = out?.find((o) => o.error)
      if (err || failed) reject(err ?? new Error(failed!.error))
      else resolve()
    })
  })
  const loaded = await inspect(docker, entry.imageId)
  if (!loaded) throw mismatch(serviceName, image, 'a different image')
  return entry.imageId
}

/**
 * Makes sure the pinned image is here: already present, or loaded from the bundle, or pulled.
 * `offline` skips the network: a missing image is then a clear error.
 */
export async function ensureImage(
  docker: Docker,
  image: PinnedImage,
  serviceName: string,
  opts: {
    readonly bundleDir?: string
    readonly offline?: boolean
    readonly onProgress?: (p: PullProgress) => void
  } = {},
): Promise<string> {
  const bundle = readBundleManifest(opts.bundleDir)
  const first = await checkImage(docker, image, serviceName, bundle)
  if (first.ok) return first.ref
  if (image.builtHere) {
    throw new FlashError(
      'stack.image_missing',
      `The image for ${serviceName} (${imageLabel(image)}) is not on this computer. It is built by Flash Box itself and cannot be downloaded.`,
      'Load the offline image bundle that came with this version of Flash Box, or reinstall Flash Box.',
    )
  }
  const pinned = `${image.repository}@${image.digest}`
  const entry = bundle.find((b) => b.ref === pinned)
  if (entry && opts.bundleDir) {
    return loadFromBundle(docker, opts.bundleDir, entry, image, serviceName)
  }
  if (opts.offline) {
    throw new FlashError(
      'stack.image_missing_offline',
      `The image for ${serviceName} (${imageLabel(image)}) is not on this computer, and Flash Box is offline.`,
      'Connect to the internet and press Download again in Settings → Images, or load the offline image bundle there.',
    )
  }
  await pullImage(docker, image, serviceName, opts.onProgress ?? (() => {}))
  const after = await checkImage(docker, image, serviceName, bundle)
  if (!after.ok) throw mismatch(serviceName, image, 'an image without the pinned digest')
  return after.ref
}
