// The eCash wallet as an engine module (API domain 'ecash'). The wallet lives under
// <dataDir>/ecash; the box's own mint (module 'mint') is added first when it runs.
import type { EcashMintView, ecashApi } from '../../shared/api/ecash'
import type { MintStatus } from '../../shared/api/mint'
import type { UserError } from '../../shared/errors'
import type { HandlersOf } from '../../shared/api/procedure'
import { FlashError } from '../errors'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'
import { boxKeyFor, wrongPasswordError } from '../secrets/box-key'
import { SeedFileStore } from './bip39-seed'
import { EcashWallet } from './wallet'
import { publishedUrls } from '../reach/public-address'

export interface EcashModuleOptions {
  /** Background pass interval (claim stored tokens, settle pending operations). Default 30 s. */
  readonly backgroundIntervalMs?: number
  /** The box's own mint URL; by default asked of the 'mint' module. */
  readonly ownMintUrl?: () => string | undefined
  /** The own mint's URL as tokens carry it; by default the box's published mint URL. */
  readonly publishedOwnMintUrl?: () => string | undefined
}

/** The URL the 'mint' module serves on, whichever shape it exposes it in. */
export function ownMintUrlFrom(ctx: EngineContext): string | undefined {
  const m = ctx.modules.get('mint') as unknown as Record<string, unknown> | undefined
  if (!m) return undefined
  // src/core/mint/mint-module.ts: `running()` → the RunningMint (services/mint) with its url.
  if (typeof m.running === 'function') {
    try {
      const r = (m.running as () => { url?: unknown } | undefined).call(m)
      if (typeof r?.url === 'string' && r.url) return r.url
    } catch {
      // not running
    }
  }
  for (const key of ['url', 'mintUrl', 'publicUrl']) {
    const v: unknown = m[key]
    if (typeof v === 'string' && v) return v
    if (typeof v === 'function') {
      try {
        const r = (v as () => unknown).call(m)
        if (typeof r === 'string' && r) return r
      } catch {
        // not running
      }
    }
  }
  return undefined
}

export function ecashModule(options: EcashModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createEcashModule(ctx, options)
}

export function createEcashModule(
  ctx: EngineContext,
  options: EcashModuleOptions = {},
): EngineModule<typeof ecashApi> & { readonly wallet: () => EcashWallet | undefined } {
  const log = ctx.log.child('ecash')
  let wallet: EcashWallet | undefined
  let problem: FlashError | undefined
  const box = boxKeyFor(ctx.dataDir)
  let stopWatchingUnlock = () => {}
  let stopped = false

  const w = (): EcashWallet => {
    if (wallet) return wallet
    throw (
      problem ??
      new FlashError(
        'ecash.not_ready',
        'The eCash wallet is still starting.',
        'Wait a few seconds and try again.',
      )
    )
  }

  // The box's own mint: whether it runs is what the mint module says (the state the dashboard and
  // the Mint page read); the wallet's own requests only tell whether its last request got an
  // answer. The mint module starts before this one and may have published its state before this
  // module listened, so it is asked at the moment of the question; its events are the fallback.
  let boxMint: { running: boolean; problem?: UserError } | undefined
  const stopFollowingMint = ctx.events.subscribe(
    (e) => {
      if (e.topic === 'mint' && e.type === 'status')
        boxMint = {
          running: e.status.running,
          ...(e.status.problem ? { problem: e.status.problem } : {}),
        }
    },
    ['mint'],
  )
  const boxMintNow = async (): Promise<typeof boxMint> => {
    const status = (
      ctx.modules.get('mint')?.handlers as
        { status?: (i: unknown, c: RequestContext) => Promise<MintStatus> } | undefined
    )?.status
    if (!status) return boxMint
    try {
      const s = await status({}, { transport: 'internal' })
      return { running: s.running, ...(s.problem ? { problem: s.problem } : {}) }
    } catch {
      return boxMint
    }
  }
  const withBoxMintState = (
    m: EcashMintView,
    state: Awaited<ReturnType<typeof boxMintNow>>,
  ): EcashMintView => {
    if (!m.own || !state) return m
    if (state.running)
      return {
        ...m,
        online: true,
        ...(m.online || !m.lastError
          ? {}
          : {
              lastError: `The box’s mint is running, but the wallet’s last request to it failed: ${m.lastError}`,
            }),
      }
    return {
      ...m,
      online: false,
      lastError: state.problem
        ? `The box’s mint is stopped: ${state.problem.message}`
        : 'The box’s mint is stopped.',
    }
  }

  const handlers: HandlersOf<typeof ecashApi, RequestContext> = {
    status: async () => w().status(),
    mints: async () => {
      const list = await w().mints()
      const state = list.some((m) => m.own) ? await boxMintNow() : undefined
      return list.map((m) => withBoxMintState(m, state))
    },
    addMint: async ({ url }) => w().addMint(url),
    removeMint: async ({ url }) => w().removeMint(url),
    mintQuote: async ({ amount, mintUrl }) => w().createMintQuote(amount, mintUrl),
    checkMintQuote: async ({ quoteId }) => w().checkMintQuote(quoteId),
    send: async (input) => w().send(input),
    receive: async ({ token }) => w().receive(token),
    reclaim: async ({ operationId }) => w().reclaim(operationId),
    pendingTokens: async () => w().pendingTokens(),
    redeemPending: async ({ operationId }) => w().redeemPending(operationId),
    meltQuote: async ({ invoice, mintUrl }) => w().createMeltQuote(invoice, mintUrl),
    melt: async ({ quoteId }) => w().melt(quoteId),
    history: async ({ mintUrl, limit }) => w().history({ mintUrl, limit }),
    backupSeed: async ({ password }) => {
      // Showing the words needs the owner password again (once the box has one).
      if (box.state !== 'none' && !(password && (await box.checkPassword(password)))) {
        throw password
          ? wrongPasswordError()
          : new FlashError(
              'ecash.password_needed',
              'Type the owner password to see the recovery words.',
              'Enter the password you use to log in to Flash Box, then show the words again.',
            )
      }
      return w().backupSeed()
    },
    restore: async ({ mnemonic, mintUrls }) => w().restore(mnemonic, mintUrls),
  }

  return {
    name: 'ecash',
    handlers,
    wallet: () => wallet,
    async start() {
      const open = () => {
        wallet = new EcashWallet({
          dir: EcashWallet.dirFor(ctx.dataDir),
          log,
          box,
          publish: (e) => ctx.events.publish(e),
          ownMintUrl: options.ownMintUrl ?? (() => ownMintUrlFrom(ctx)),
          publishedOwnMintUrl:
            options.publishedOwnMintUrl ?? (() => publishedUrls(ctx.dataDir).mint),
          ...(options.backgroundIntervalMs !== undefined
            ? { backgroundIntervalMs: options.backgroundIntervalMs }
            : {}),
        })
        problem = undefined
        // Reconciling needs the mints; it must not hold up the engine when one is slow or down.
        void wallet.start().catch((err) => {
          log.warn('eCash wallet start incomplete', {
            error: err instanceof Error ? err.message : String(err),
          })
        })
      }
      try {
        open()
      } catch (err) {
        problem =
          err instanceof FlashError
            ? err
            : new FlashError(
                'ecash.unavailable',
                'The eCash wallet could not be opened.',
                'Check that the data folder is writable, then restart Flash Box.',
                { cause: err },
              )
        // Locked after a restart: the wallet opens as soon as the owner unlocks the box.
        if (problem.code !== 'box.locked') throw problem
        log.info('eCash wallet waits for the box to be unlocked')
      }
      stopWatchingUnlock = box.onUnlock(() => {
        try {
          if (new SeedFileStore(EcashWallet.dirFor(ctx.dataDir), box).migrate())
            log.info('eCash recovery words sealed under the box key')
          if (!wallet && !stopped) open()
        } catch (err) {
          log.warn('eCash wallet could not be opened after unlock', {
            error: err instanceof Error ? err.message : String(err),
          })
        }
      })
    },
    async stop() {
      stopped = true
      stopWatchingUnlock()
      stopFollowingMint()
      const x = wallet
      wallet = undefined
      await x?.stop()
    },
  }
}
