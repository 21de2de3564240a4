// LND's wallet life cycle, done by the box: one level-triggered step that looks at LND and the
// box's files and takes the next idempotent action. Any event (LND restarted, the owner logged in,
// a timer) just runs another step; a crash at any point leaves files from which the next step
// continues.
//
// Creating the wallet is a saga over two stores (LND and the sealed seed file):
//   GenSeed → seal the words to the owner's vault → write lnd-seed.pending.json → InitWallet →
//   rename pending → lnd-seed.json.
// A crash before InitWallet answered leaves LND without a wallet: the pending words were never
// used and are replaced on the next try. A crash after leaves LND with a wallet and the pending
// file: it is promoted. So the words stored are always those of the wallet LND has.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import type { LightningWalletState } from '../../shared/api/lightning'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import { redact } from '../log'
import { sealSeed, storeOnce, type SeedVaultFile } from './seed-vault'

/**
 * What a restore hands LND's InitWallet: the backed-up words, how far to look for used addresses
 * (recovery_window), and the static channel backup LND uses to have the channel peers close.
 */
export interface WalletRestore {
  readonly words: readonly string[]
  readonly channelBackup?: Buffer
}

/** LND's address look-ahead when it rescans a restored wallet (lncli create's default). */
export const RECOVERY_WINDOW = 2500

/** LND's WalletUnlocker and State services (ln-service's unauthenticated calls, or a fake). */
export interface WalletUnlocker {
  state(): Promise<'absent' | 'locked' | 'starting' | 'active' | 'ready'>
  genSeed(): Promise<string[]>
  /** `restore`: InitWallet with recovery_window and channel_backups (restoring a backup). */
  initWallet(
    password: string,
    words: readonly string[],
    restore?: { readonly recoveryWindow: number; readonly channelBackup?: Buffer },
  ): Promise<void>
  unlock(password: string): Promise<void>
}

export interface WalletFiles {
  /** LND's wallet-unlock-password-file on the host (written by the catalog). */
  readonly passwordFile: string
  /** The sealed seed once the wallet exists, and its pending twin during creation. */
  readonly sealedSeed: string
  readonly pendingSeed: string
}

export interface WalletStepInput {
  readonly lnd: WalletUnlocker
  readonly files: WalletFiles
  /** The owner's seed vault, or null before the engine has seen the owner's password. */
  readonly vault: SeedVaultFile | null
  /** The generated wallet password from the stack secrets. */
  readonly walletPassword: string
  readonly log: Logger
  /**
   * The backed-up words (and channel backup), opened with the owner's password, when LND has no
   * wallet but the box holds sealed words: a restored box.
   */
  readonly restore?: WalletRestore
}

export interface WalletStepResult {
  readonly state: LightningWalletState
  /** What the step did, for the log and the tests. */
  readonly action: 'none' | 'created' | 'restored' | 'unlocked' | 'promoted-seed'
  /** LND has no wallet but the box holds words from a backup: the wallet is to be restored. */
  readonly restoring?: boolean
}

function promotePending(files: WalletFiles): boolean {
  if (!existsSync(files.pendingSeed)) return false
  if (existsSync(files.sealedSeed)) {
    // Both exist only if a wallet was created before and a later attempt got as far as the
    // pending file: the wallet LND has is the older one, whose words are in sealedSeed.
    rmSync(files.pendingSeed, { force: true })
    return false
  }
  renameSync(files.pendingSeed, files.sealedSeed)
  return true
}

/** One step of the life cycle. Never throws for LND being down: that is a state. */
export async function walletStep(input: WalletStepInput): Promise<WalletStepResult> {
  const { lnd, files, log } = input
  let state: Awaited<ReturnType<WalletUnlocker['state']>>
  try {
    state = await lnd.state()
  } catch {
    return { state: 'unreachable', action: 'none' }
  }

  if (state === 'absent' && existsSync(files.sealedSeed)) {
    // LND's folder is new but the box holds sealed words (a restored backup, or LND's data was
    // lost): never make a new wallet here — the funds and channels belong to those words.
    rmSync(files.pendingSeed, { force: true })
    if (!input.restore) return { state: 'waiting_for_owner', action: 'none', restoring: true }
    await lnd.initWallet(input.walletPassword, input.restore.words, {
      recoveryWindow: RECOVERY_WINDOW,
      ...(input.restore.channelBackup ? { channelBackup: input.restore.channelBackup } : {}),
    })
    log.info(
      input.restore.channelBackup
        ? 'Lightning wallet restored from its recovery words and static channel backup; its channels are closed by their peers so the funds come back on chain'
        : 'Lightning wallet restored from its recovery words (no channel backup was found)',
    )
    return { state: 'starting', action: 'restored' }
  }

  if (state === 'absent') {
    if (!input.vault) return { state: 'waiting_for_owner', action: 'none' }
    // Anything pending belongs to an attempt whose InitWallet never took effect.
    rmSync(files.pendingSeed, { force: true })
    const words = await lnd.genSeed()
    redact(words.join(' '))
    if (!storeOnce(files.pendingSeed, sealSeed(input.vault, words))) {
      throw new FlashError(
        'lightning.seed_busy',
        'Another part of Flash Box is creating the Lightning wallet at the same time.',
        'Wait a minute; the Lightning page will show the wallet when it is ready.',
      )
    }
    await lnd.initWallet(input.walletPassword, words)
    promotePending(files)
    log.info('Lightning wallet created; the recovery words are stored encrypted')
    return { state: 'starting', action: 'created' }
  }

  // The wallet exists from here on: a pending seed is the one LND took.
  const promoted = promotePending(files)
  if (promoted) log.info('Lightning recovery words from the last creation kept')

  if (state === 'locked') {
    let password: string
    try {
      password = readFileSync(files.passwordFile, 'utf8')
    } catch {
      return { state: 'locked', action: promoted ? 'promoted-seed' : 'none' }
    }
    await lnd.unlock(password)
    log.info('Lightning wallet unlocked from its password file')
    return { state: 'starting', action: 'unlocked' }
  }
  if (state === 'starting' || state === 'active') {
    return { state: 'starting', action: promoted ? 'promoted-seed' : 'none' }
  }
  return { state: 'ready', action: promoted ? 'promoted-seed' : 'none' }
}
