// How a domain plugs into the engine. Each capability (stack, relay, mint, nostr, ecash)
// exports a factory returning an EngineModule; src/core/engine/modules.ts lists them.
// The engine starts modules in list order and stops them in reverse.
import type { Domain, HandlersOf } from '../../shared/api/procedure'
import type { Alert } from '../../shared/api/stack'
import type { EventBus } from '../events'
import type { Logger } from '../log'
import type { ServiceLauncher } from '../services/service-process'

export interface EngineContext {
  /** Root of everything the box owns on disk (settings, secrets, databases). */
  readonly dataDir: string
  readonly log: Logger
  readonly events: EventBus
  /** Other modules, by name, once started (e.g. the nostr client finds the embedded relay's URL). */
  readonly modules: ReadonlyMap<string, EngineModule>
  /**
   * How the box's own services (relay, mint) are started as their own processes: Electron's
   * utilityProcess in the desktop app (src/main), a Node child process otherwise (default).
   */
  readonly serviceLauncher?: ServiceLauncher
}

export interface EngineModule<D extends Domain = Domain> {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
  /** Implementation of this module's API domain (src/shared/api/<name>.ts). */
  readonly handlers: HandlersOf<D, RequestContext>
  /**
   * The owner just typed their password (set it or logged in). Modules that keep secrets under
   * a key derived from it (the Lightning seed vault) make that key then. Must not throw.
   */
  ownerPasswordEntered?(password: string): Promise<void>
  /**
   * What needs the owner's attention from this module now, shown with the stack's own on the
   * dashboard ("Needs attention"). A module publishes `stack/alert` when one appears and
   * `stack/alert-cleared` when it goes.
   */
  alerts?(): readonly Alert[]
  /** The owner dismissed one of `alerts()` (it stays away until its cause clears and returns). */
  dismissAlert?(id: string): void
}

/** Per-call context the transports pass to handlers. */
export interface RequestContext {
  /** 'ipc' for the Electron window, 'http' for headless mode. */
  readonly transport: 'ipc' | 'http' | 'internal'
}

export type EngineModuleFactory = (ctx: EngineContext) => EngineModule | Promise<EngineModule>
