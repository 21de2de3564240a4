// The wallet saga against a fake WalletUnlocker: every crash point leaves files from which the
// next step stores exactly the words of the wallet LND has.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../log'
import {
  createSeedVault,
  openSeed,
  readSealedSeed,
  sealSeed,
  type SeedVaultFile,
} from './seed-vault'
import {
  RECOVERY_WINDOW,
  walletStep,
  type WalletFiles,
  type WalletRestore,
  type WalletUnlocker,
} from './wallet-lifecycle'

const log = createLogger('test', { sink: () => {} })
const PASSWORD = 'owner password here'
let vault: SeedVaultFile
let dir: string
let files: WalletFiles

beforeAll(async () => {
  vault = await createSeedVault(PASSWORD)
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function setup() {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-wallet-'))
  files = {
    passwordFile: join(dir, 'lnd', 'wallet-password'),
    sealedSeed: join(dir, 'secrets', 'lnd-seed.json'),
    pendingSeed: join(dir, 'secrets', 'lnd-seed.pending.json'),
  }
}

class FakeLnd implements WalletUnlocker {
  wallet: { password: string; words: string[] } | null = null
  unlocked = false
  reachable = true
  failInit: 'before' | 'after' | null = null
  calls: string[] = []
  seeds = 0
  async state() {
    if (!this.reachable) throw new Error('connect ECONNREFUSED')
    if (!this.wallet) return 'absent' as const
    return this.unlocked ? ('ready' as const) : ('locked' as const)
  }
  async genSeed() {
    this.calls.push('genSeed')
    this.seeds++
    return Array.from({ length: 24 }, (_, i) => `word${this.seeds}x${i}`)
  }
  restoreArgs: unknown[] = []
  async initWallet(
    password: string,
    words: readonly string[],
    restore?: { recoveryWindow: number; channelBackup?: Buffer },
  ) {
    this.calls.push('initWallet')
    if (restore) this.restoreArgs.push(restore)
    if (this.failInit === 'before') throw new Error('connection reset')
    this.wallet = { password, words: [...words] }
    this.unlocked = true
    if (this.failInit === 'after') throw new Error('connection reset after commit')
  }
  async unlock(password: string) {
    this.calls.push('unlock')
    if (password !== this.wallet?.password) throw new Error('invalid passphrase')
    this.unlocked = true
  }
}

const step = (lnd: FakeLnd, v: SeedVaultFile | null = vault, restore?: WalletRestore) =>
  walletStep({
    lnd,
    files,
    vault: v,
    walletPassword: 'stack-wallet-password',
    log,
    ...(restore ? { restore } : {}),
  })

describe('walletStep', () => {
  it('waits for the owner when there is no vault to seal the words to', async () => {
    setup()
    const lnd = new FakeLnd()
    expect(await step(lnd, null)).toEqual({ state: 'waiting_for_owner', action: 'none' })
    expect(lnd.calls).toEqual([])
  })

  it('creates the wallet with the stack password and stores the words LND took, sealed', async () => {
    setup()
    const lnd = new FakeLnd()
    expect(await step(lnd)).toEqual({ state: 'starting', action: 'created' })
    expect(lnd.wallet?.password).toBe('stack-wallet-password')
    const sealed = readSealedSeed(files.sealedSeed)!
    expect(await openSeed(vault, sealed, PASSWORD)).toEqual(lnd.wallet?.words)
    expect(existsSync(files.pendingSeed)).toBe(false)
    expect(await step(lnd)).toEqual({ state: 'ready', action: 'none' })
    expect(lnd.calls).toEqual(['genSeed', 'initWallet'])
  })

  it('crash before InitWallet took effect: new words next time, the unused ones are dropped', async () => {
    setup()
    const lnd = new FakeLnd()
    lnd.failInit = 'before'
    await expect(step(lnd)).rejects.toThrow('connection reset')
    expect(existsSync(files.pendingSeed)).toBe(true)
    expect(existsSync(files.sealedSeed)).toBe(false)
    lnd.failInit = null
    expect((await step(lnd)).action).toBe('created')
    const sealed = readSealedSeed(files.sealedSeed)!
    expect(await openSeed(vault, sealed, PASSWORD)).toEqual(lnd.wallet?.words)
    expect(lnd.wallet?.words[0]).toBe('word2x0')
  })

  it('crash after InitWallet took effect: the pending words are the wallet’s and are kept', async () => {
    setup()
    const lnd = new FakeLnd()
    lnd.failInit = 'after'
    await expect(step(lnd)).rejects.toThrow('after commit')
    expect(existsSync(files.pendingSeed)).toBe(true)
    lnd.failInit = null
    expect(await step(lnd)).toEqual({ state: 'ready', action: 'promoted-seed' })
    const sealed = readSealedSeed(files.sealedSeed)!
    expect(await openSeed(vault, sealed, PASSWORD)).toEqual(lnd.wallet?.words)
    expect(lnd.calls).toEqual(['genSeed', 'initWallet'])
  })

  it('unlocks from the password file after a restart; without it, reports locked', async () => {
    setup()
    const lnd = new FakeLnd()
    await step(lnd)
    lnd.unlocked = false
    expect(await step(lnd)).toEqual({ state: 'locked', action: 'none' })
    mkdirSync(join(dir, 'lnd'), { recursive: true })
    writeFileSync(files.passwordFile, 'stack-wallet-password')
    expect(await step(lnd)).toEqual({ state: 'starting', action: 'unlocked' })
    expect(await step(lnd)).toEqual({ state: 'ready', action: 'none' })
  })

  it('LND not answering is a state, not an error', async () => {
    setup()
    const lnd = new FakeLnd()
    lnd.reachable = false
    expect(await step(lnd)).toEqual({ state: 'unreachable', action: 'none' })
  })

  it('a restored box (LND has no wallet, the box has sealed words) never makes a new wallet', async () => {
    setup()
    const backedUp = Array.from({ length: 24 }, (_, i) => `backed${i}`)
    mkdirSync(join(dir, 'secrets'), { recursive: true })
    writeFileSync(files.sealedSeed, JSON.stringify(sealSeed(vault, backedUp)))
    writeFileSync(files.pendingSeed, '{"stale":true}')
    const lnd = new FakeLnd()
    // Without the words opened by the owner's password it waits, and touches nothing in LND.
    expect(await step(lnd)).toEqual({ state: 'waiting_for_owner', action: 'none', restoring: true })
    expect(lnd.calls).toEqual([])
    expect(existsSync(files.pendingSeed)).toBe(false)

    const scb = Buffer.from('multi channel backup bytes')
    expect(await step(lnd, vault, { words: backedUp, channelBackup: scb })).toEqual({
      state: 'starting',
      action: 'restored',
    })
    expect(lnd.calls).toEqual(['initWallet'])
    expect(lnd.wallet).toEqual({ password: 'stack-wallet-password', words: backedUp })
    expect(lnd.restoreArgs).toEqual([{ recoveryWindow: RECOVERY_WINDOW, channelBackup: scb }])
    // The stored words are still the backed-up ones.
    expect(await openSeed(vault, readSealedSeed(files.sealedSeed)!, PASSWORD)).toEqual(backedUp)
  })
})
