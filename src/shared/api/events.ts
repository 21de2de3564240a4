// The typed event stream the UI subscribes to. Each domain owns its own event union in its
// own file under src/shared/api and adds it here; every event carries its domain as `topic`.
import type { StackEvent } from './stack'
import type { NostrEvent } from './nostr'
import type { RelayEvent } from './relay'
import type { EcashEvent } from './ecash'
import type { MintEvent } from './mint'
import type { SystemEvent } from './system'
import type { LightningEvent } from './lightning'
import type { BackupEvent } from './backup'
import type { WalletServiceEvent } from './wallet-service'
import type { HardwareEvent } from './hardware'
import type { WalletEvent } from './wallet'
import type { MerchantEvent } from './merchant'
import type { BoltcardEvent } from './boltcard'
import type { ReachEvent } from './reach'

export type EngineEvent =
  | StackEvent
  | NostrEvent
  | RelayEvent
  | EcashEvent
  | MintEvent
  | SystemEvent
  | LightningEvent
  | BackupEvent
  | WalletServiceEvent
  | HardwareEvent
  | WalletEvent
  | MerchantEvent
  | BoltcardEvent
  | ReachEvent
export type EventTopic = EngineEvent['topic']
