// The system domain of the engine (src/shared/api/system.ts): Settings → Images, Settings →
// Diagnostics and the web mode's folder browser. It works through the stack module's supervisor
// (the plan, the Docker client, the offline bundle) and reads the box's files only to build the
// support bundle, which never carries a secret (support-bundle.ts).
import { existsSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HandlersOf } from '../../shared/api/procedure'
import type { ServiceStatus, StackStatus, SyncStatus } from '../../shared/api/stack'
import type { Diagnostics, ImageState, RecentProblem, systemApi } from '../../shared/api/system'
import type { Settings } from '../../shared/settings'
import { createFileExclusiveSync } from '../atomic-file'
import { FlashError, toUserError } from '../errors'
import { recentLogLines } from '../log'
import { loadSettings, maskedConfig } from '../engine/stack-module'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'
import { checkImage, imageLabel, readBundleManifest } from '../supervisor/images'
import { keptBundleDir, loadOfflineBundle } from '../supervisor/offline-bundle'
import type { Supervisor } from '../supervisor/supervisor'
import { listFolders } from './folders'
import { collectSecretValues, redactSecrets } from './support-bundle'

const internal: RequestContext = { transport: 'internal' }

/** Flash Box's version: npm's (npm start), else the nearest package.json named flash-box. */
export function flashBoxVersion(): string {
  if (process.env.npm_package_name === 'flash-box' && process.env.npm_package_version)
    return process.env.npm_package_version
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json')
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string }
        if (pkg.name === 'flash-box' && pkg.version) return pkg.version
      } catch {
        // keep looking upwards
      }
    }
    dir = dirname(dir)
  }
  return 'unknown'
}

interface StackLike {
  readonly supervisor?: Supervisor
  readonly handlers: {
    status(i: object, c: RequestContext): Promise<StackStatus>
    sync(i: object, c: RequestContext): Promise<SyncStatus>
  }
}

export function systemModule(): EngineModuleFactory {
  return (ctx) => createSystemModule(ctx)
}

export function createSystemModule(ctx: EngineContext): EngineModule<typeof systemApi> {
  const log = ctx.log.child('system')
  const stack = () => ctx.modules.get('stack') as unknown as StackLike | undefined
  const supervisor = () => stack()?.supervisor
  const settings = (): Settings | null => {
    try {
      return loadSettings(ctx.dataDir)
    } catch {
      return null
    }
  }
  const bundleKeep = keptBundleDir(ctx.dataDir)

  const requireDocker = () => {
    const docker = supervisor()?.dockerClient()
    if (!docker) {
      throw new FlashError(
        'docker.not_running',
        'Docker is not running, so Flash Box cannot look at or load images.',
        'Start Docker (Docker Desktop on macOS and Windows), then try again.',
      )
    }
    return docker
  }

  const recentProblems = (): RecentProblem[] =>
    recentLogLines('warn', 50)
      .reverse()
      .map((l) => ({
        time: l.time,
        level: l.level === 'error' ? 'error' : 'warn',
        where: l.scope,
        message: l.msg,
      }))

  const diagnostics = (): Diagnostics => {
    const s = settings()
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
    return {
      versions: {
        flashBox: flashBoxVersion(),
        node: process.versions.node,
        ...(process.versions.electron ? { electron: process.versions.electron } : {}),
        platform: process.platform,
        arch: process.arch,
      },
      docker: supervisor()?.dockerState() ?? { state: 'not-running', host: '', os: 'other' },
      engineDataDir: ctx.dataDir,
      ...(s ? { stackDataDir: s.dataDir, network: s.network, ownServices: s.ownServices } : {}),
      recentProblems: recentProblems(),
      suggestedBundlePath: join(homedir(), `flashbox-support-${stamp}.json`),
    }
  }

  const handlers: HandlersOf<typeof systemApi, RequestContext> = {
    images: async () => {
      const sup = supervisor()
      const plan = sup?.getPlan()
      const docker = sup?.dockerClient()
      const bundle = readBundleManifest(sup?.getBundleDir())
      const images: ImageState[] = []
      for (const spec of plan?.services ?? []) {
        const base = {
          serviceId: spec.id,
          displayName: spec.displayName,
          image: imageLabel(spec.image),
          pinned: spec.image.builtHere
            ? spec.image.digest
            : `${spec.image.repository}@${spec.image.digest}`,
          builtHere: Boolean(spec.image.builtHere),
        }
        if (!docker) {
          images.push({ ...base, state: 'unknown' })
          continue
        }
        try {
          const found = await checkImage(docker, spec.image, spec.displayName, bundle)
          images.push({ ...base, state: found.ok ? 'present' : 'missing' })
        } catch (err) {
          const problem = toUserError(err)
          images.push({
            ...base,
            state: problem.code === 'stack.image_digest_mismatch' ? 'different' : 'unknown',
            problem,
          })
        }
      }
      return {
        dockerReachable: Boolean(docker),
        planned: Boolean(plan),
        images,
        bundleImages: bundle.length,
      }
    },
    loadImageBundle: async ({ dir }) => {
      const docker = requireDocker()
      log.info(`loading the offline image bundle from ${dir}`)
      const loaded = await loadOfflineBundle(docker, dir, bundleKeep, (progress) =>
        ctx.events.publish({ topic: 'system', type: 'bundle-progress', progress }),
      )
      supervisor()?.setBundleDir(bundleKeep)
      log.info(`offline image bundle loaded: ${loaded.length} image(s), every digest checked`)
      return loaded
    },
    diagnostics: async () => diagnostics(),
    saveSupportBundle: async ({ path }) => {
      if (existsSync(path)) {
        throw new FlashError(
          'system.bundle_exists',
          `There is already a file at ${path}.`,
          'Choose a new file name; the support bundle never overwrites anything.',
        )
      }
      if (!existsSync(dirname(path))) {
        throw new FlashError(
          'system.bundle_no_folder',
          `The folder ${dirname(path)} does not exist.`,
          'Choose a folder that exists, then try again.',
        )
      }
      const s = settings()
      const st = stack()
      const status = await st?.handlers.status({}, internal).catch(() => undefined)
      const sync = await st?.handlers.sync({}, internal).catch(() => undefined)
      const plan = supervisor()?.getPlan()
      const content = {
        about:
          'Flash Box support bundle: versions, Docker, settings, service states, configuration and recent log. Every secret the box holds has been replaced by ‹redacted›.',
        createdAt: new Date().toISOString(),
        diagnostics: diagnostics(),
        settings: s,
        services: status?.services.map((x: ServiceStatus) => ({
          id: x.id,
          state: x.state,
          enabled: x.enabled,
          restarts: x.restarts,
          image: x.image,
          problem: x.problem,
        })),
        alerts: status?.alerts,
        sync,
        configuration: plan?.services.map(maskedConfig),
        log: recentLogLines('info').map(
          (l) =>
            `${l.time} ${l.level} [${l.scope}] ${l.msg}${l.fields && Object.keys(l.fields).length ? ' ' + JSON.stringify(l.fields) : ''}`,
        ),
      }
      const secrets = collectSecretValues([ctx.dataDir, ...(s ? [s.dataDir] : [])])
      const { text, removed } = redactSecrets(JSON.stringify(content, null, 2) + '\n', secrets)
      let created: boolean
      try {
        created = createFileExclusiveSync(path, text, 0o600)
      } catch (err) {
        throw new FlashError(
          'system.bundle_write_failed',
          `The support bundle could not be written to ${path}.`,
          'Check that the folder is writable and the disk has room, then try again.',
          { cause: err },
        )
      }
      if (!created) {
        throw new FlashError(
          'system.bundle_exists',
          `There is already a file at ${path}.`,
          'Choose a new file name; the support bundle never overwrites anything.',
        )
      }
      log.info(`support bundle saved to ${path} (${removed} secret value(s) removed)`)
      return { path, bytes: statSync(path).size, secretsRemoved: removed }
    },
    listFolders: async ({ path }) => listFolders(path),
  }

  return {
    name: 'system',
    handlers,
    async start() {
      // A bundle loaded before keeps its images counting as the pinned ones.
      if (existsSync(join(bundleKeep, 'manifest.json')) && !supervisor()?.getBundleDir()) {
        supervisor()?.setBundleDir(bundleKeep)
      }
    },
    async stop() {},
  }
}
