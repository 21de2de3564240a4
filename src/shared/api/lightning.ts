// The lightning domain of the API: the box's own LND, run by src/core/lightning. The wallet's life
// cycle (created by the box, recovery words shown once behind the owner's password, unlocked from
// its password file), the access keys (macaroons) baked per consumer, and the owner's Lightning
// page: balances, receive, pay, history, peers and channels.
// Macaroons and preimages never cross this boundary; the recovery words do exactly once, on the
// owner's explicit request with the password typed again.
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'

/**
 * - disabled: LND is not part of the stack (Settings).
 * - unreachable: LND is not running or not answering yet.
 * - waiting_for_owner: LND has no wallet, and the box needs the owner's password once to keep the
 *   recovery words encrypted before it creates one.
 * - locked: the wallet exists but its password file is missing; the owner can unlock it here.
 * - starting: unlocked, LND is starting its services (chain sync, graph).
 * - ready: all of LND's RPCs answer.
 */
export type LightningWalletState =
  'disabled' | 'unreachable' | 'waiting_for_owner' | 'locked' | 'starting' | 'ready'

export interface LightningMacaroonView {
  readonly consumer: 'btcpay' | 'mint' | 'dashboard' | 'app'
  readonly present: boolean
  /** The permissions baked into it (entity:action). */
  readonly permissions: readonly string[]
}

export interface LightningNodeView {
  readonly publicKey: string
  readonly alias: string
  /** pubkey@host:port for peers on the same network (the box's own address). */
  readonly uri: string
  readonly network: string
  readonly blockHeight: number
  readonly syncedToChain: boolean
  readonly activeChannels: number
  readonly peers: number
}

export interface LightningStatus {
  readonly wallet: LightningWalletState
  /** Whether the owner's password has been turned into the key that seals the words. */
  readonly vault: boolean
  readonly seed: {
    /** The recovery words are stored (encrypted). */
    readonly stored: boolean
    /** The owner has shown them and passed the word check; they are not shown again. */
    readonly confirmed: boolean
  }
  readonly macaroons: readonly LightningMacaroonView[]
  readonly node?: LightningNodeView
  /** What is wrong, in plain words, when something is. */
  readonly problem?: UserError
}

export interface SeedReveal {
  readonly words: readonly string[]
  /** 1-based positions the owner must type back (the word check). */
  readonly check: readonly number[]
}

const Password = z.string().min(1).max(1024)

export type LightningEvent = { topic: 'lightning'; type: 'status'; status: LightningStatus }

export const lightningApi = {
  status: query<LightningStatus>()(z.object({})),
  /**
   * Turns the owner's password into the vault key (once). Headless: it must be the login
   * password. Desktop (no login password): the owner chooses one here, at least 10 characters.
   */
  protectSeed: mutation<LightningStatus>()(z.object({ password: Password })),
  /** The 24 recovery words, once, with the password typed again; then the word check. */
  revealSeed: mutation<SeedReveal>()(z.object({ password: Password })),
  confirmSeed: mutation<LightningStatus>()(
    z.object({
      answers: z
        .array(
          z.object({
            position: z.number().int().min(1).max(24),
            word: z.string().min(1).max(32),
          }),
        )
        .min(1)
        .max(24),
    }),
  ),
  /** Unlocks a locked wallet with the box's stored wallet password. */
  unlock: mutation<LightningStatus>()(z.object({})),
}
