// The engine's modules, started in this order and stopped in reverse. One line per domain.
import type { EngineModuleFactory } from './module'
import { stackModule } from './stack-module'
import { relayModule } from '../relay/relay-module'
import { nostrModule } from '../nostr/nostr-module'
import { ecashModule } from '../ecash/ecash-module'
import { mintModule } from '../mint/mint-module'
import { systemModule } from '../system/system-module'
import { lightningModule } from '../lightning/lightning-module'
import { walletServiceModule } from '../lightning/wallet-service-module'
import { backupModule } from '../backup/backup-module'
import { hardwareModule } from '../hardware/hardware-module'
import { walletModule } from '../wallet/wallet-module'
import { reachModule } from '../reach/reach-module'
import { merchantModule } from '../merchant/merchant-module'
import { boltcardModule } from '../boltcard/boltcard-module'

export const defaultModules: EngineModuleFactory[] = [
  stackModule(),
  lightningModule(),
  relayModule(),
  nostrModule,
  walletServiceModule(),
  walletModule(),
  mintModule(),
  ecashModule(),
  systemModule(),
  backupModule(),
  hardwareModule(),
  reachModule(),
  merchantModule(),
  boltcardModule(),
]
