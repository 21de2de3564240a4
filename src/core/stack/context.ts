// What every service renderer gets: the validated settings, the network's names and ports, the
// box's secrets, where things live on the host, and which images to run.
import type { Settings } from '../../shared/settings'
import type { NetworkParams } from './networks'
import { stackPaths } from './paths'
import type { PinnedImage, ServiceId, StackSecrets } from './spec'

export interface Machine {
  readonly memoryBytes: number
  readonly cpus: number
}

export interface RenderContext {
  readonly settings: Settings
  readonly net: NetworkParams
  readonly secrets: StackSecrets
  readonly machine: Machine
  /** `uid:gid` every container runs as, so files under the data directory stay the owner's. */
  readonly user: string
  readonly image: (id: ServiceId) => PinnedImage
  /** LAN mode: the picked interface's address and the box CA (see RenderOptions.lan). */
  readonly lan?: {
    readonly address: string
    readonly caCertPem: string
    readonly caFingerprint: string
  }
}

/** Host directory of one service: <dataDir>/<service>. */
export function serviceDir(ctx: RenderContext, id: ServiceId): string {
  return stackPaths(ctx.settings.dataDir).service(id)
}

/** Header of every rendered config file: who wrote it and that edits do not stick. */
export function renderedHeader(comment: '#' | ';'): string {
  return `${comment} Written by Flash Box from your settings; edits here are replaced on the next start.\n`
}
