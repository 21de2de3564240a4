// The production catalog behind the stack module: src/core/stack's catalog (settings → container
// specs for bitcoind, electrs, LND, BTCPay …) over this machine, adapted to the StackCatalog seam.
import { productionStackCatalog } from '../stack/production-catalog'
import type { StackCatalog } from './stack-catalog'

export function productionCatalog(_dataDir: string): StackCatalog {
  return productionStackCatalog()
}
