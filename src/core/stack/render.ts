// renderStack: settings in, container specs out — pure, like Polar's composeFile/nodeTemplates.
// Nothing here touches Docker or the disk; the supervisor writes `files` and creates containers.
import { SettingsSchema, type Settings } from '../../shared/settings'
import { FlashError } from '../errors'
import { bitcoindSpec } from './bitcoind'
import { caddySpec, frontDoorEnabled } from './caddy'
import { torSpec } from './tor'
import { btcpaySpec } from './btcpay'
import type { Machine, RenderContext } from './context'
import { electrsSpec } from './electrs'
import { catalogImages, imageDisplayName, pinnedRegistryImage } from './images'
import { lndSpec } from './lnd'
import { mintSpec } from './mint'
import { nbxplorerSpec } from './nbxplorer'
import { networkParams } from './networks'
import { postgresSpec } from './postgres'
import { relaySpec } from './relay'
import type { ContainerSpec, PinnedImage, ServiceId, StackPlan, StackSecrets } from './spec'
import { settingsProblems } from './validate'

export interface RenderOptions {
  /** Prefix of containers, network and labels. Default `flashbox`. */
  readonly project?: string
  /**
   * Images to run instead of the catalog's (tests: locally built images), and the build results
   * of the images built here (relay, mint). All wiring stays the same.
   */
  readonly images?: Partial<Record<ServiceId, PinnedImage>>
  /**
   * The host user the containers run as, so that what they write under the data directory stays
   * the owner's (and the 0600 files the supervisor writes stay readable to them). Default: the
   * engine's own uid:gid; 1000:1000 where the OS has none (Windows, Docker Desktop's VM).
   */
  readonly runAs?: { readonly uid: number; readonly gid: number }
  /**
   * LAN mode (Settings.reach.lan): the address of the interface the owner picked and the box CA's
   * certificate, found by the catalog (src/core/stack/catalog.ts) before rendering.
   */
  readonly lan?: LanRender
}

export interface LanRender {
  readonly address: string
  readonly caCertPem: string
  readonly caFingerprint: string
}

const PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/

/** Which services the settings ask for, in start order (dependencies first). */
export function enabledServices(settings: Settings): ServiceId[] {
  const s = settings.services
  const ids: ServiceId[] = ['bitcoind']
  if (s.electrs) ids.push('electrs')
  if (s.lnd) ids.push('lnd')
  if (s.btcpay) ids.push('postgres', 'nbxplorer', 'btcpay')
  // The relay and the mint run inside the engine unless the owner wants them as containers.
  if (settings.ownServices === 'container') {
    if (s.relay) ids.push('relay')
    if (s.mint) ids.push('mint')
  }
  // The front door and Tor only when the owner chose a way in (Settings → Reachability).
  if (frontDoorEnabled(settings)) ids.push('caddy')
  if (settings.reach?.tor) ids.push('tor')
  return ids
}

function imageResolver(opts: RenderOptions): (id: ServiceId) => PinnedImage {
  return (id) => {
    const given = opts.images?.[id]
    if (given) return given
    const image = catalogImages[id]
    if (image.kind === 'registry') return pinnedRegistryImage(image)
    throw new FlashError(
      'stack.image_not_built',
      `The image for the ${id} (${imageDisplayName(image)}) has not been built on this computer yet.`,
      'Build it (or load the offline image bundle) before starting, or run the relay and the mint inside Flash Box (Settings → Services → Run inside the app).',
    )
  }
}

/** The stack's project name (container names, labels) unless a caller picks another. */
export const DEFAULT_PROJECT = 'flashbox'

export function renderStack(
  settingsInput: Settings,
  machine: Machine,
  secrets: StackSecrets,
  opts: RenderOptions = {},
): StackPlan {
  const parsed = SettingsSchema.safeParse(settingsInput)
  if (!parsed.success) {
    throw new FlashError(
      'settings.invalid',
      'The settings are incomplete or damaged, so the services cannot be prepared.',
      'Open Settings, check every field, and save again.',
      { cause: parsed.error },
    )
  }
  const settings = parsed.data
  const problems = settingsProblems(settings)
  if (problems.length > 0) {
    const p = problems[0]!
    throw new FlashError(p.code, p.message, p.hint)
  }
  const project = opts.project ?? DEFAULT_PROJECT
  if (!PROJECT.test(project)) throw new Error(`invalid project name ${JSON.stringify(project)}`)
  const runAs = opts.runAs ?? {
    uid: process.getuid?.() ?? 1000,
    gid: process.getgid?.() ?? 1000,
  }
  const ctx: RenderContext = {
    settings,
    net: networkParams[settings.network],
    secrets,
    machine,
    user: `${runAs.uid}:${runAs.gid}`,
    image: imageResolver(opts),
    ...(opts.lan ? { lan: opts.lan } : {}),
  }
  const render: Record<ServiceId, (c: RenderContext) => ContainerSpec> = {
    bitcoind: bitcoindSpec,
    electrs: electrsSpec,
    lnd: lndSpec,
    postgres: postgresSpec,
    nbxplorer: nbxplorerSpec,
    btcpay: btcpaySpec,
    relay: relaySpec,
    mint: mintSpec,
    caddy: caddySpec,
    tor: torSpec,
  }
  return {
    project,
    network: settings.network,
    dataDir: settings.dataDir,
    dockerNetwork: `${project}-net`,
    services: enabledServices(settings).map((id) => render[id](ctx)),
  }
}
