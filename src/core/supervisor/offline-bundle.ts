// Loading an offline image bundle (a folder with manifest.json and one `docker save` archive per
// image), for a computer that never reaches a registry. Every archive is checked against its
// pinned image ID before Docker loads it (image-archive.ts) and looked up again after, and the
// bundle's manifest is kept under the engine's data folder so the loaded images keep counting as
// the pinned ones after the bundle's folder (a USB stick) is gone.
import { createReadStream, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import { readBundleManifest, type BundleManifest } from './images'
import { verifyImageArchive } from './image-archive'

export interface BundleProgress {
  /** The archive being checked or loaded. */
  readonly file: string
  readonly step: 'checking' | 'loading' | 'done'
  readonly index: number
  readonly count: number
  readonly bytes: number
}

export interface LoadedImage {
  readonly ref: string
  readonly file: string
  readonly imageId: string
  readonly layers: number
}

/** Where the manifest of the last loaded bundle is kept: `<engine data>/image-bundle/`. */
export function keptBundleDir(engineDataDir: string): string {
  return join(engineDataDir, 'image-bundle')
}

export async function loadOfflineBundle(
  docker: Docker,
  bundleDir: string,
  keepIn: string,
  onProgress: (p: BundleProgress) => void = () => {},
): Promise<readonly LoadedImage[]> {
  if (!existsSync(join(bundleDir, 'manifest.json'))) {
    throw new FlashError(
      'stack.bundle_not_found',
      `There is no offline image bundle in ${bundleDir} (no manifest.json there).`,
      'Pick the folder that holds manifest.json and the image files (.tar), then try again.',
    )
  }
  const manifest = readBundleManifest(bundleDir)
  if (manifest.length === 0) {
    throw new FlashError(
      'stack.bundle_empty',
      `The offline image bundle in ${bundleDir} lists no images.`,
      'Copy the offline bundle again from its original medium, then try again.',
    )
  }
  const loaded: LoadedImage[] = []
  for (const [index, entry] of manifest.entries()) {
    const path = join(bundleDir, entry.file)
    if (!existsSync(path)) {
      throw new FlashError(
        'stack.bundle_incomplete',
        `The offline image bundle has no ${entry.file} (listed for ${entry.ref}).`,
        'Copy the complete offline bundle again, then load it again in Settings → Images.',
      )
    }
    const base = { file: entry.file, index, count: manifest.length }
    let lastEmit = 0
    onProgress({ ...base, step: 'checking', bytes: 0 })
    const verified = await verifyImageArchive(path, entry.imageId, (bytes) => {
      const now = Date.now()
      if (now - lastEmit < 250) return
      lastEmit = now
      onProgress({ ...base, step: 'checking', bytes })
    })
    onProgress({ ...base, step: 'loading', bytes: verified.bytes })
    try {
      await dockerLoad(docker, path)
    } catch (err) {
      throw new FlashError(
        'stack.bundle_load_failed',
        `Docker could not load ${entry.file}: ${(err as Error).message}`,
        'Check that Docker is running and has room on its disk, then load the bundle again in Settings → Images.',
        { cause: err },
      )
    }
    try {
      await docker.getImage(entry.imageId).inspect()
    } catch {
      throw new FlashError(
        'stack.bundle_digest_mismatch',
        `Docker loaded ${entry.file} but has no image ${entry.imageId.slice(0, 19)}… afterwards.`,
        'Copy the offline bundle again from its original medium, then load it again in Settings → Images.',
      )
    }
    loaded.push({
      ref: entry.ref,
      file: entry.file,
      imageId: entry.imageId,
      layers: verified.layers,
    })
    onProgress({ ...base, step: 'done', bytes: verified.bytes })
  }
  keepManifest(keepIn, manifest)
  return loaded
}

function keepManifest(dir: string, manifest: BundleManifest): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileAtomicSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 0o644)
}

async function dockerLoad(docker: Docker, path: string): Promise<void> {
  const stream = await docker.loadImage(createReadStream(path), { quiet: true })
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: { error?: string }[] | undefined) => {
        const failed = out?.find((o) => o.error)
        if (err || failed) reject(err ?? new Error(failed!.error))
        else resolve()
      },
    )
  })
}
