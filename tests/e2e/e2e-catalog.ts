// A TEST catalog for the end-to-end tests: the production wiring shape (dependencies gated on
// health, probes, bind mounts) over H2's local lifecycle test image (tests/images) standing in for
// the daemons. Everything it creates is labelled io.flashbox.test=1. Never used by the product.
import type { StackCatalog } from '../../src/core/stack/catalog'
import { basicChecks } from '../../src/core/stack/catalog'
import type { ServiceInfo } from '../../src/shared/api/stack'
import type { Settings } from '../../src/shared/settings'
import type { ServiceId } from '../../src/core/stack/spec'
import type { BuiltImage } from '../images/build'
import { testPlan, testService } from '../images/test-catalog'

const GiB = 2 ** 30

interface TestEntry {
  readonly id: ServiceId
  readonly displayName: string
  readonly description: string
  readonly requires: readonly ServiceId[]
  readonly readyAfterMs: number
}

const entries: readonly TestEntry[] = [
  {
    id: 'bitcoind',
    displayName: 'Bitcoin Core',
    description: 'Checks every payment against the Bitcoin rules itself. (Test stand-in.)',
    requires: [],
    readyAfterMs: 1500,
  },
  {
    id: 'electrs',
    displayName: 'Electrum server',
    description: 'Lets wallets look up your addresses privately. (Test stand-in.)',
    requires: ['bitcoind'],
    readyAfterMs: 500,
  },
  {
    id: 'lnd',
    displayName: 'Lightning (LND)',
    description: 'Instant, cheap payments over Lightning. (Test stand-in.)',
    requires: ['bitcoind'],
    readyAfterMs: 800,
  },
  {
    id: 'mint',
    displayName: 'Cashu mint',
    description: 'eCash tokens for your customers, backed by Lightning. (Test stand-in.)',
    requires: ['lnd'],
    readyAfterMs: 300,
  },
]

/** Enabled = bitcoind plus the optional services switched on in the settings. */
function enabled(settings: Settings): TestEntry[] {
  return entries.filter(
    (e) => e.id === 'bitcoind' || settings.services[e.id as keyof Settings['services']] === true,
  )
}

export function e2eCatalog(project: string, image: BuiltImage): StackCatalog {
  return {
    info: () =>
      entries.map((e): ServiceInfo => ({
        id: e.id,
        displayName: e.displayName,
        description: e.description,
        optional: e.id !== 'bitcoind',
        requires: e.requires,
        image: image.tag,
        downloadBytes: 132_000_000,
      })),
    // Disk needs scale like the real ones (the whole chain on mainnet unless pruned) so the
    // wizard's free-space check has something to say; the test stays on regtest.
    check: async (settings) =>
      basicChecks(
        settings,
        settings.network === 'mainnet' && !settings.prune.enabled ? 4096 * GiB : 1 * GiB,
      ),
    render: async (settings) =>
      testPlan(
        project,
        settings.dataDir,
        enabled(settings).map((e) => ({
          ...testService(image, settings.dataDir, {
            id: e.id,
            readyAfterMs: e.readyAfterMs,
            dependsOn: e.requires.filter((r) => enabled(settings).some((x) => x.id === r)),
          }),
          displayName: e.displayName,
          description: e.description,
        })),
      ),
  }
}
