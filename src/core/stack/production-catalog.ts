// The catalog as the engine's stack module wants it (src/core/engine/stack-catalog.ts,
// StackCatalog: info / check / render), over this machine: its memory and cores, the data
// folder probed for real, and the box's secrets loaded (or created once) before rendering.
// Structural, so this lower layer does not import the engine.
import { availableParallelism, totalmem } from 'node:os'
import type { ServiceInfo, SettingsCheck } from '../../shared/api/stack'
import type { Settings } from '../../shared/settings'
import { loadOrCreateStackSecrets } from '../secrets/stack-secrets'
import { catalogInfo } from './catalog'
import type { Machine } from './context'
import { probeDataDir } from './disk'
import { estimateDiskBytes } from './disk-estimates'
import { renderStack, type RenderOptions } from './render'
import type { StackPlan } from './spec'
import { checkSettings } from './validate'

export interface ProductionCatalogOptions extends RenderOptions {
  /** Defaults to this machine (os.totalmem, os.availableParallelism). */
  readonly machine?: Machine
}

export interface ProductionCatalog {
  info(settings: Settings | null): readonly ServiceInfo[]
  check(settings: Settings): Promise<SettingsCheck>
  render(settings: Settings): Promise<StackPlan>
}

export function productionStackCatalog(opts: ProductionCatalogOptions = {}): ProductionCatalog {
  const machine = opts.machine ?? { memoryBytes: totalmem(), cpus: availableParallelism() }
  return {
    info: () => catalogInfo(),
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
    render: async (settings) => {
      const secrets = await loadOrCreateStackSecrets(settings.dataDir)
      return renderStack(settings, machine, secrets, opts)
    },
  }
}
