// The engine: starts the domain modules, validates every API call against the shared contract
// and dispatches it. Both transports (Electron IPC, headless HTTP + WebSocket) call `engine.call`.
import { contract } from '../../shared/api/contract'
import { inputProblem, type InputIssue } from '../../shared/api/input-problems'
import { FlashError } from '../errors'
import { EventBus } from '../events'
import { createLogger, type Logger } from '../log'
import { applyPendingRestore } from '../backup/restore'
import { boxKeyFor, forgetBoxKey, type BoxKeychain } from '../secrets/box-key'
import type { ServiceLauncher } from '../services/service-process'
import type { EngineContext, EngineModule, EngineModuleFactory, RequestContext } from './module'

export interface Engine {
  readonly dataDir: string
  readonly events: EventBus
  readonly log: Logger
  /** Validate `rawInput` with the contract's schema and run the handler. Throws FlashError. */
  call(domain: string, procedure: string, rawInput: unknown, ctx: RequestContext): Promise<unknown>
  /** 'query' | 'mutation' for a known procedure, undefined otherwise. */
  kindOf(domain: string, procedure: string): 'query' | 'mutation' | undefined
  module(name: string): EngineModule | undefined
  stop(): Promise<void>
}

export interface EngineOptions {
  readonly dataDir: string
  readonly log?: Logger
  readonly modules: readonly EngineModuleFactory[]
  /** See EngineContext.serviceLauncher. */
  readonly serviceLauncher?: ServiceLauncher
  /** The OS keychain that may hold the box key (desktop only; src/main implements it). */
  readonly keychain?: BoxKeychain
}

type AnyContract = Record<
  string,
  Record<
    string,
    {
      kind: 'query' | 'mutation'
      input: {
        safeParse(v: unknown): {
          success: boolean
          data?: unknown
          error?: { issues: InputIssue[] }
        }
      }
    }
  >
>

export async function createEngine(opts: EngineOptions): Promise<Engine> {
  const log = opts.log ?? createLogger('engine')
  const events = new EventBus()
  const modules = new Map<string, EngineModule>()
  const ctx: EngineContext = {
    dataDir: opts.dataDir,
    log,
    events,
    modules,
    ...(opts.serviceLauncher ? { serviceLauncher: opts.serviceLauncher } : {}),
  }
  const started: EngineModule[] = []

  // A restore that was prepared (decrypted and checked) is moved into place before anything
  // opens the data folder; one interrupted by a crash is finished here.
  applyPendingRestore(opts.dataDir, log)
  const box = boxKeyFor(opts.dataDir)
  box.useKeychain(opts.keychain ?? null)
  if (await box.unlockFromKeychain().catch(() => false)) log.info('box unlocked from the keychain')

  for (const factory of opts.modules) {
    const m = await factory(ctx)
    modules.set(m.name, m)
    try {
      await m.start()
      started.push(m)
    } catch (err) {
      log.error(`module ${m.name} failed to start`, {
        error: err instanceof Error ? err.message : String(err),
      })
      // The engine keeps running what it can; the module reports its own problem through its API.
      started.push(m)
    }
  }

  const spec = contract as unknown as AnyContract

  const kindOf = (domain: string, procedure: string) =>
    Object.hasOwn(spec, domain) && Object.hasOwn(spec[domain]!, procedure)
      ? spec[domain]![procedure]!.kind
      : undefined

  return {
    dataDir: opts.dataDir,
    events,
    log,
    kindOf,
    module: (name) => modules.get(name),
    async call(domain, procedure, rawInput, reqCtx) {
      const def = kindOf(domain, procedure) ? spec[domain]![procedure]! : undefined
      if (!def) {
        throw new FlashError(
          'api.unknown_procedure',
          `There is no "${domain}.${procedure}" in the API.`,
          'Update the app: the window and the engine may be different versions.',
        )
      }
      const parsed = def.input.safeParse(rawInput ?? {})
      if (!parsed.success) {
        // Never zod's own words on the screen: each problem as a sentence naming the field.
        const problem = inputProblem(parsed.error?.issues ?? [])
        throw new FlashError(problem.code, problem.message, problem.hint)
      }
      const mod = modules.get(domain)
      const handler = mod
        ? (mod.handlers as Record<string, (i: unknown, c: RequestContext) => Promise<unknown>>)[
            procedure
          ]
        : undefined
      if (!handler) {
        throw new FlashError(
          'api.unavailable',
          `${domain} is not running in this engine.`,
          'Enable the service in Settings, then try again.',
        )
      }
      return handler(parsed.data, reqCtx)
    },
    async stop() {
      for (const m of [...started].reverse()) {
        try {
          await m.stop()
        } catch (err) {
          log.error(`module ${m.name} failed to stop`, {
            error: err instanceof Error ? err.message : String(err),
          })
        }
      }
      forgetBoxKey(opts.dataDir)
    },
  }
}
