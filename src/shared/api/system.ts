// The system domain: what Settings → Images, Settings → Diagnostics and the folder picker need.
// Images: which pinned images are on this computer, and loading an offline image bundle (every
// image checked against its digest). Diagnostics: versions, Docker facts, recent errors, and a
// support bundle with every secret taken out. Folders: a directory browser for the web mode's
// folder picker (directory names only, never file contents).
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { DockerStatus } from './stack'
import type { UserError } from '../errors'

export interface ImageState {
  readonly serviceId: string
  readonly displayName: string
  /** `repository:tag` as people read it. */
  readonly image: string
  /** What is pinned: `repository@sha256:…`, or the image ID of an image built by Flash Box. */
  readonly pinned: string
  /** Built by Flash Box itself (relay, mint): never downloaded. */
  readonly builtHere: boolean
  readonly state: 'present' | 'missing' | 'different' | 'unknown'
  readonly problem?: UserError
}

export interface ImagesOverview {
  readonly dockerReachable: boolean
  /** Set up and planned: false before setup (then there is nothing to list). */
  readonly planned: boolean
  readonly images: readonly ImageState[]
  /** When an offline bundle was loaded: how many images its manifest recorded. */
  readonly bundleImages: number
}

export interface LoadedBundleImage {
  readonly ref: string
  readonly file: string
  readonly imageId: string
  readonly layers: number
}

export interface BundleProgress {
  readonly file: string
  readonly step: 'checking' | 'loading' | 'done'
  readonly index: number
  readonly count: number
  readonly bytes: number
}

export interface RecentProblem {
  readonly time: string
  readonly level: 'warn' | 'error'
  readonly where: string
  readonly message: string
}

export interface Diagnostics {
  readonly versions: {
    readonly flashBox: string
    readonly node: string
    readonly electron?: string
    readonly platform: string
    readonly arch: string
  }
  readonly docker: DockerStatus
  /** The engine's own folder (settings, secrets, embedded databases). */
  readonly engineDataDir: string
  /** The services' data folder chosen in setup, once set up. */
  readonly stackDataDir?: string
  readonly network?: string
  readonly ownServices?: 'embedded' | 'container'
  readonly recentProblems: readonly RecentProblem[]
  /** Where a support bundle is saved unless another file is named. */
  readonly suggestedBundlePath: string
}

export interface SupportBundleResult {
  readonly path: string
  readonly bytes: number
  /** How many secret values were found and taken out. */
  readonly secretsRemoved: number
}

export interface FolderListing {
  /** The folder listed (absolute, normalised). */
  readonly path: string
  readonly parent?: string
  readonly folders: readonly { readonly name: string; readonly path: string }[]
  /** More folders than are shown. */
  readonly truncated: boolean
  readonly writable: boolean
  readonly home: string
}

const AbsolutePath = z
  .string()
  .trim()
  .min(1, 'Choose a folder.')
  .max(4096)
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), {
    message: 'must be a full path that starts at the top of the disk (like /home/you/…)',
  })

export const systemApi = {
  images: query<ImagesOverview>()(z.object({})),
  /** Checks every archive of the bundle in `dir` against its digest, then loads it into Docker. */
  loadImageBundle: mutation<readonly LoadedBundleImage[]>()(z.object({ dir: AbsolutePath })),
  diagnostics: query<Diagnostics>()(z.object({})),
  /** Writes logs, settings and facts (every secret removed) to a new file at `path`. */
  saveSupportBundle: mutation<SupportBundleResult>()(z.object({ path: AbsolutePath })),
  /** The folders inside `path` (default: the home folder). Names only: no files, no contents. */
  listFolders: query<FolderListing>()(z.object({ path: AbsolutePath.optional() })),
}

export type SystemEvent = { topic: 'system'; type: 'bundle-progress'; progress: BundleProgress }
