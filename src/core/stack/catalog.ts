// The stack catalog: settings in, what can run and the containers to run out. The engine's stack
// module works against the StackCatalog interface; `stackCatalog()` is the one over this machine
// (its memory and cores, the data folder probed for real, the box's secrets loaded — or created
// once — under the settings' data folder before rendering). Tests bring their own catalog with the
// same shape (local images, same wiring) and reuse `basicChecks`.
import { accessSync, constants, mkdirSync, readFileSync, statfsSync } from 'node:fs'
import { availableParallelism, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import type { ServiceInfo, SettingsCheck } from '../../shared/api/stack'
import type { UserError } from '../../shared/errors'
import type { Settings } from '../../shared/settings'
import { certificateFingerprint, lanCertificateCurrent, lanCertificateFiles } from '../reach/box-ca'
import { lanAddress } from '../reach/lan'
import { prepareHiddenServiceDirs, torDir, type OnionKeyBox } from '../reach/onion-store'
import { loadOrCreateStackSecrets } from '../secrets/stack-secrets'
import { prepareTorDataDir, torServicesFor } from './tor'
import type { Machine } from './context'
import { probeDataDir } from './disk'
import { estimateDiskBytes } from './disk-estimates'
import { renderStack, type LanRender, type RenderOptions } from './render'
import { serviceInfoList } from './service-info'
import type { PinnedImage, ServiceId, StackPlan } from './spec'
import { checkSettings } from './validate'

export interface StackCatalog {
  /** What can run, for the setup wizard (`settings` null before setup). */
  info(settings: Settings | null): readonly ServiceInfo[]
  /** Problems that keep these settings from working (disk, data folder, combinations). */
  check(settings: Settings): Promise<SettingsCheck>
  /**
   * The containers to run for these settings (secrets loaded or created under the data dir);
   * `built`: the images built on this computer (relay, mint) to run.
   */
  render(settings: Settings, built?: Partial<Record<ServiceId, PinnedImage>>): Promise<StackPlan>
}

export interface StackCatalogOptions extends RenderOptions {
  /** Defaults to this machine (os.totalmem, os.availableParallelism). */
  readonly machine?: Machine
  /**
   * LAN mode: makes or renews the front door's certificate for the picked interface's address
   * (the engine passes one that opens the box CA under the box key; src/core/reach/box-ca.ts).
   * Without it, the certificate files must already be there.
   */
  readonly lanCertificate?: (settings: Settings, address: string) => Promise<void>
  /** The address of a LAN interface; default os.networkInterfaces (src/core/reach/lan.ts). */
  readonly lanAddressOf?: (iface: string) => string
  /**
   * The box key, under which the onion keys are stored (src/core/reach/onion-store.ts). Without
   * it (tests) they are kept in the plain version 1 file.
   */
  readonly boxKey?: OnionKeyBox
}

export function stackCatalog(opts: StackCatalogOptions = {}): StackCatalog {
  const machine = opts.machine ?? { memoryBytes: totalmem(), cpus: availableParallelism() }
  return {
    info: () => serviceInfoList(),
    check: async (settings) => {
      const probe = probeDataDir(settings.dataDir)
      const problems = checkSettings(settings, {
        freeBytes: probe.freeBytes,
        writable: probe.writable,
        memoryBytes: machine.memoryBytes,
      })
      return {
        ok: problems.length === 0,
        problems,
        disk: {
          neededBytes: estimateDiskBytes(settings),
          freeBytes: probe.freeBytes,
          path: probe.path,
        },
      }
    },
    render: async (settings, built) => {
      const secrets = await loadOrCreateStackSecrets(settings.dataDir)
      const lan = settings.reach?.lan ? await lanRender(settings, opts) : undefined
      const plan = renderStack(settings, machine, secrets, {
        ...opts,
        images: { ...built, ...opts.images },
        ...(lan ? { lan } : {}),
      })
      // Tor's onion keys are the box's own: made once, stored sealed, written where tor reads them.
      if (plan.services.some((s) => s.id === 'tor')) {
        const names = torServicesFor({ settings }).map((s) => s.name)
        const hsRoot = join(torDir(settings.dataDir), 'hs')
        prepareHiddenServiceDirs(settings.dataDir, hsRoot, names, opts.boxKey)
        prepareTorDataDir(settings.dataDir)
      }
      return plan
    },
  }
}

/** LAN mode's address (a plain error when the interface is gone) and the box CA, for Caddy. */
async function lanRender(
  settings: Settings,
  opts: StackCatalogOptions,
): Promise<LanRender | undefined> {
  const lan = settings.reach!.lan!
  const address = (opts.lanAddressOf ?? lanAddress)(lan.interface)
  await opts.lanCertificate?.(settings, address)
  const files = lanCertificateFiles(settings.dataDir)
  if (!lanCertificateCurrent(files, { name: lan.name, address })) return undefined
  const caCertPem = readFileSync(files.caCert, 'utf8')
  return { address, caCertPem, caFingerprint: certificateFingerprint(caCertPem) }
}

/** Nearest existing ancestor (a data folder that does not exist yet is checked where it would go). */
function existingAncestor(path: string): string {
  let p = path
  for (;;) {
    try {
      accessSync(p)
      return p
    } catch {
      const up = dirname(p)
      if (up === p) return p
      p = up
    }
  }
}

/** Checks every catalog needs: the data folder can be created and written, and has space. */
export function basicChecks(settings: Settings, neededBytes: number): SettingsCheck {
  const problems: UserError[] = []
  const at = existingAncestor(settings.dataDir)
  try {
    mkdirSync(settings.dataDir, { recursive: true })
    accessSync(settings.dataDir, constants.W_OK)
  } catch (err) {
    problems.push({
      code: 'stack.datadir_not_writable',
      message: `Flash Box cannot write to the data folder ${settings.dataDir} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
      hint: 'Choose a folder on a disk that is mounted read-write and that your user owns, or fix its permissions.',
    })
  }
  let freeBytes = 0
  try {
    const s = statfsSync(at)
    freeBytes = Number(s.bavail) * Number(s.bsize)
  } catch {
    // unknown: reported as 0 free, and the check below says so
  }
  if (freeBytes < neededBytes) {
    const gib = (n: number) => (n / 2 ** 30).toFixed(1)
    problems.push({
      code: 'stack.disk_too_small',
      message: `The disk holding ${settings.dataDir} has ${gib(freeBytes)} GiB free; these settings need about ${gib(neededBytes)} GiB.`,
      hint: 'Free some space, choose a bigger disk for the data folder, or turn on pruning in Settings.',
    })
  }
  return { ok: problems.length === 0, problems, disk: { neededBytes, freeBytes, path: at } }
}
