// The production catalog behind the stack module. The catalog proper (settings → container
// specs for bitcoind, electrs, LND, BTCPay …) lives in src/core/stack; this file adapts it to the
// StackCatalog seam.
import { FlashError } from '../errors'
import { basicChecks, type StackCatalog } from './stack-catalog'

export function productionCatalog(_dataDir: string): StackCatalog {
  return {
    info: () => [],
    check: async (settings) => basicChecks(settings, 0),
    render: async () => {
      throw new FlashError(
        'stack.catalog_unavailable',
        'This build of Flash Box has no service catalog, so it cannot run containers.',
        'Update Flash Box to a complete build.',
      )
    },
  }
}
