// What the engine may ask of a running mint, as plain data in and out — so the same calls work
// when the mint runs in its own process (child.ts) and the engine holds only a channel to it.
import type { RunningMint } from './index'
import type { BackendStatus } from './lightning/backend'
import type { KeysetInfo } from './nut02-keysets'
import type { Liability, MeltQuote, MintQuote } from './store/store'

/** The operator-settable limits (a subset of MintConfig). */
export interface MintLimitsData {
  mintMinAmount: number
  mintMaxAmount: number
  meltMinAmount: number
  meltMaxAmount: number
  mintingDisabled: boolean
  meltingDisabled: boolean
  maxInputs: number
  maxOutputs: number
  rateLimitPerIp: number
  rateLimitWindowMs: number
}

export interface MintInfo {
  readonly url: string
  readonly name: string
  readonly unit: string
  readonly network: string
  readonly backend: BackendStatus
  readonly keysets: Omit<KeysetInfo, 'derivationIndex' | 'maxOrder'>[]
  readonly liabilities: Liability[]
  readonly limits: MintLimitsData
  readonly pendingMelts: number
}

export interface MintControl {
  info(): Promise<MintInfo>
  mintQuotes(limit: number): Promise<MintQuote[]>
  meltQuotes(limit: number): Promise<MeltQuote[]>
  rotateKeyset(unit: string, inputFeePpk: number): Promise<{ id: string }>
  /** Applied in place: the running mint reads its config on every request. */
  setLimits(limits: MintLimitsData): MintLimitsData
}

/** A quote changed (the engine shows it on the Mint page). */
export type MintQuoteEvent = { kind: 'mint'; quote: MintQuote } | { kind: 'melt'; quote: MeltQuote }

export function mintControl(running: RunningMint): MintControl {
  const m = running.mint
  const limits = (): MintLimitsData => {
    const c = m.config
    return {
      mintMinAmount: c.mintMinAmount,
      mintMaxAmount: c.mintMaxAmount,
      meltMinAmount: c.meltMinAmount,
      meltMaxAmount: c.meltMaxAmount,
      mintingDisabled: c.mintingDisabled,
      meltingDisabled: c.meltingDisabled,
      maxInputs: c.maxInputs,
      maxOutputs: c.maxOutputs,
      rateLimitPerIp: c.rateLimit.perIp,
      rateLimitWindowMs: c.rateLimit.windowMs,
    }
  }
  return {
    info: async () => ({
      url: running.url,
      name: m.config.name,
      unit: m.config.unit,
      network: m.config.network,
      backend: await m.backend.status().catch((err: unknown) => ({
        ok: false,
        name: m.backend.name,
        detail: err instanceof Error ? err.message : 'The Lightning backend does not answer.',
      })),
      keysets: [...m.keysets.values()].map((k) => ({
        id: k.id,
        unit: k.unit,
        active: k.active,
        inputFeePpk: k.inputFeePpk,
        finalExpiry: k.finalExpiry,
        createdAt: k.createdAt,
      })),
      liabilities: await m.store.liabilities(),
      limits: limits(),
      pendingMelts: (await m.store.meltSagas()).length,
    }),
    mintQuotes: (limit) => m.store.listMintQuotes(limit),
    meltQuotes: (limit) => m.store.listMeltQuotes(limit),
    rotateKeyset: async (unit, inputFeePpk) => {
      const row = await m.rotateKeyset(unit, inputFeePpk)
      return { id: row.id }
    },
    setLimits: (next) => {
      const c = m.config
      c.mintMinAmount = next.mintMinAmount
      c.mintMaxAmount = next.mintMaxAmount
      c.meltMinAmount = next.meltMinAmount
      c.meltMaxAmount = next.meltMaxAmount
      c.mintingDisabled = next.mintingDisabled
      c.meltingDisabled = next.meltingDisabled
      c.maxInputs = next.maxInputs
      c.maxOutputs = next.maxOutputs
      c.rateLimit.perIp = next.rateLimitPerIp
      c.rateLimit.windowMs = next.rateLimitWindowMs
      return limits()
    },
  }
}

/** Calls `fn` with every changed quote (not proof states), until the returned function is called. */
export function followQuotes(running: RunningMint, fn: (e: MintQuoteEvent) => void): () => void {
  const m = running.mint
  return m.subscribe((e) => {
    if (e.kind === 'proof_state') return
    void (async () => {
      if (e.kind === 'bolt11_mint_quote') {
        const quote = await m.store.mintQuote(e.id)
        if (quote) fn({ kind: 'mint', quote })
      } else {
        const quote = await m.store.meltQuote(e.id)
        if (quote) fn({ kind: 'melt', quote })
      }
    })().catch(() => {})
  })
}
