// The whole API: one contract, served over Electron IPC and headless HTTP + WebSocket.
import { stackApi } from './stack'
import { nostrApi } from './nostr'
import { relayApi } from './relay'
import { ecashApi } from './ecash'
import { mintApi } from './mint'
import { systemApi } from './system'
import { lightningApi } from './lightning'
import { backupApi } from './backup'
import { walletServiceApi } from './wallet-service'
import { hardwareApi } from './hardware'
import { walletApi } from './wallet'
import { reachApi } from './reach'
import { merchantApi } from './merchant'
import { boltcardApi } from './boltcard'
import type { ClientOf } from './procedure'

export const contract = {
  stack: stackApi,
  nostr: nostrApi,
  relay: relayApi,
  ecash: ecashApi,
  mint: mintApi,
  system: systemApi,
  lightning: lightningApi,
  backup: backupApi,
  walletService: walletServiceApi,
  hardware: hardwareApi,
  wallet: walletApi,
  reach: reachApi,
  merchant: merchantApi,
  boltcard: boltcardApi,
}

export type AppContract = typeof contract
export type AppClient = ClientOf<AppContract>
