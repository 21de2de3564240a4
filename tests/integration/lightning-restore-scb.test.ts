// LND restored from the box's backed-up recovery words plus its static channel backup, against the
// world LND simulator (LND's real protos through ln-service and the box's own unlocker client):
// the box makes the wallet and keeps its words and SCB sealed; the disk dies (LND's folder,
// channel.db included, is gone); a new LND with an empty folder is restored through InitWallet
// with recovery_window and channel_backups. The peer then force-closes the channel, and the
// box's balance in it comes back to the restored wallet on chain.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, describe, expect, it } from 'vitest'
import { followChannelBackups, openChannelBackup } from '../../src/core/lightning/channel-backup'
import { createSeedVault, openSeed, readSealedSeed } from '../../src/core/lightning/seed-vault'
import { walletStep, type WalletFiles } from '../../src/core/lightning/wallet-lifecycle'
import { lndWalletUnlocker } from '../../src/core/lightning/wallet-unlocker'
import { silentLogger } from '../../src/core/log'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd, type WorldLnd } from '../simulators/world/lnd-rpc'
import { eventually } from './eventually'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const PW = 'owner password for the restore'
const WALLET_PASSWORD = 'stack wallet password'
const root = mkdtempSync(join(tmpdir(), 'flashbox-lnd-restore-'))
const closers: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const c of closers.reverse()) await c()
  rmSync(root, { recursive: true, force: true })
})

describe('LND restored from the recovery words plus the static channel backup', () => {
  it('the peer closes the channel and the funds come back to the restored wallet', async () => {
    const chain = new Chain()
    const net: LightningNetwork = await startLightningNetwork({
      chain,
      dir: join(root, 'peers'),
      nodes: ['bob'],
      rest: false,
      log: () => undefined,
    })
    closers.push(() => net.close())
    const bob = net.nodes.bob!
    const secrets = join(root, 'stack', 'secrets')
    mkdirSync(secrets, { recursive: true })
    const files: WalletFiles = {
      passwordFile: join(root, 'no-password-file'),
      sealedSeed: join(secrets, 'lnd-seed.json'),
      pendingSeed: join(secrets, 'lnd-seed.pending.json'),
    }
    const scbFile = join(secrets, 'lnd-channel-backup.json')
    const vault = await createSeedVault(PW)

    const startBoxLnd = async (dir: string): Promise<WorldLnd> => {
      const lnd = await startWorldLnd({
        world: net.world,
        alias: 'box',
        dir,
        restPort: null,
        wallet: { mode: 'rpc' },
        log: () => undefined,
      })
      closers.push(() => lnd.close())
      return lnd
    }
    const step = async (lnd: WorldLnd, restore?: Parameters<typeof walletStep>[0]['restore']) => {
      const unlocker = lndWalletUnlocker({ socket: lnd.socket, cert: lnd.cert })
      try {
        return await walletStep({
          lnd: unlocker,
          files,
          vault,
          walletPassword: WALLET_PASSWORD,
          log: silentLogger,
          ...(restore ? { restore } : {}),
        })
      } finally {
        unlocker.close()
      }
    }

    // The box makes its LND wallet and keeps the words sealed.
    const first = await startBoxLnd(join(root, 'lnd-1'))
    expect(await step(first)).toMatchObject({ action: 'created' })
    const boxLnd = ln.authenticatedLndGrpc(first.lnServiceAuth()).lnd
    const pubkey = (await ln.getWalletInfo({ lnd: boxLnd })).public_key

    // Coins, then a channel to bob; LND's backup stream is sealed to the vault on every change.
    const { address } = await ln.createChainAddress({ lnd: boxLnd, format: 'p2wpkh' })
    chain.mine(1, address)
    net.mine(100)
    const written: number[] = []
    const stop = followChannelBackups({
      lnd: boxLnd,
      path: scbFile,
      vault: () => vault,
      log: silentLogger,
      onWritten: (info) => written.push(info.channels),
      onError: () => undefined,
    })
    closers.push(stop)
    await new Promise((r) => setTimeout(r, 100))
    await ln.addPeer({ lnd: boxLnd, public_key: bob.pubkey, socket: bob.node!.p2pAddress })
    const chan = await ln.openChannel({
      lnd: boxLnd,
      partner_public_key: bob.pubkey,
      local_tokens: 1_000_000,
    })
    net.mine(6)
    await eventually(
      async () => (await ln.getChannels({ lnd: boxLnd })).channels[0]?.is_active,
      'channel active',
    )
    await eventually(() => written.at(-1) === 1, 'a channel backup naming the channel')
    const ourBalance = (await ln.getChannels({ lnd: boxLnd })).channels[0]!.local_balance
    expect(ourBalance).toBeGreaterThan(900_000)

    // The disk died: LND's folder (wallet, channel.db) is gone. A new LND starts empty.
    stop()
    await first.close()
    rmSync(join(root, 'lnd-1'), { recursive: true, force: true })
    const second = await startBoxLnd(join(root, 'lnd-2'))

    // Without the owner's password the box waits; it must not make a new wallet.
    expect(await step(second)).toEqual({
      state: 'waiting_for_owner',
      action: 'none',
      restoring: true,
    })
    const look = lndWalletUnlocker({ socket: second.socket, cert: second.cert })
    expect(await look.state()).toBe('absent')
    look.close()

    // The owner's password opens the words and the channel backup; InitWallet restores both.
    const words = await openSeed(vault, readSealedSeed(files.sealedSeed)!, PW)
    const scb = (await openChannelBackup(scbFile, vault, PW))!
    expect(await step(second, { words, channelBackup: scb })).toEqual({
      state: 'starting',
      action: 'restored',
    })
    const restored = ln.authenticatedLndGrpc(second.lnServiceAuth()).lnd
    expect((await ln.getWalletInfo({ lnd: restored })).public_key).toBe(pubkey)

    // The peer saw that the box lost its channel state and force-closed with its commitment.
    const pending = await eventually(
      async () =>
        (await ln.getPendingChannels({ lnd: restored })).pending_channels.find(
          (c) => c.transaction_id === chan.transaction_id,
        ),
      'the restored channel waiting to close',
    )
    expect(pending.is_closing).toBe(true)
    net.mine(1)
    // option_static_remotekey: to_remote pays the restored wallet's own key, at once.
    const balance = await eventually(async () => {
      const b = (await ln.getChainBalance({ lnd: restored })).chain_balance
      return b >= ourBalance ? b : undefined
    }, 'the channel funds back on chain')
    expect(balance).toBeGreaterThanOrEqual(ourBalance)
    const bobClosed = await ln.getClosedChannels({
      lnd: ln.authenticatedLndGrpc(bob.lnServiceAuth()).lnd,
    })
    expect(bobClosed.channels.find((c) => c.transaction_id === chan.transaction_id)).toBeTruthy()
  }, 60_000)

  it('a channel backup of another seed restores no channel (LND logs it, InitWallet succeeds)', async () => {
    // Covered by the simulator's own check: restoreFromChannelBackup refuses a backup whose
    // key does not come from this seed. Here through the real client path.
    const chain = new Chain()
    const net = await startLightningNetwork({
      chain,
      dir: join(root, 'other'),
      nodes: ['carol'],
      rest: false,
      log: () => undefined,
    })
    closers.push(() => net.close())
    const lnd = await startWorldLnd({
      world: net.world,
      alias: 'box2',
      dir: join(root, 'other', 'box2'),
      restPort: null,
      wallet: { mode: 'rpc' },
      log: () => undefined,
    })
    closers.push(() => lnd.close())
    const unlocker = lndWalletUnlocker({ socket: lnd.socket, cert: lnd.cert })
    const words = await unlocker.genSeed()
    await unlocker.initWallet(WALLET_PASSWORD, words, {
      recoveryWindow: 2500,
      channelBackup: Buffer.alloc(80, 7),
    })
    unlocker.close()
    const client = ln.authenticatedLndGrpc(lnd.lnServiceAuth()).lnd
    expect((await ln.getPendingChannels({ lnd: client })).pending_channels).toEqual([])
    expect((await ln.getChannels({ lnd: client })).channels).toEqual([])
  }, 30_000)
})
