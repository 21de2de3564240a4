// LND's WalletUnlocker and State services through ln-service's unauthenticated client: the calls
// that work before the wallet exists or is unlocked (no macaroon yet). TLS is pinned to the
// box-made certificate, as for every other LND call.
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { lndError } from '../clients/lnd'
import { FlashError } from '../errors'
import type { WalletUnlocker } from './wallet-lifecycle'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

export interface LndEndpoint {
  /** host:port of LND's gRPC listener. */
  readonly socket: string
  /** LND's tls.cert (PEM). */
  readonly cert: string
}

interface RawUnlocker {
  initWallet(req: Record<string, unknown>, cb: (err: unknown) => void): void
}

export function lndWalletUnlocker(endpoint: LndEndpoint): WalletUnlocker & { close(): void } {
  const { lnd } = ln.unauthenticatedLndGrpc({
    cert: Buffer.from(endpoint.cert).toString('base64'),
    socket: endpoint.socket,
  })
  const guard = async <T>(what: string, call: Promise<T>): Promise<T> => {
    try {
      return await call
    } catch (err) {
      throw lndError(what, err)
    }
  }
  return {
    async state() {
      const s = await guard('getWalletStatus', ln.getWalletStatus({ lnd }))
      if (s.is_absent) return 'absent'
      if (s.is_locked) return 'locked'
      if (s.is_ready) return 'ready'
      if (s.is_active) return 'active'
      return 'starting'
    },
    async genSeed() {
      const { seed } = await guard('createSeed', ln.createSeed({ lnd }))
      return seed.split(' ')
    },
    async initWallet(password, words, restore) {
      if (!restore) {
        await guard('createWallet', ln.createWallet({ lnd, password, seed: words.join(' ') }))
        return
      }
      // ln-service's createWallet sends neither recovery_window nor channel_backups: LND's
      // InitWallet is called directly for a restore (lnrpc.InitWalletRequest).
      const unlocker = (lnd as unknown as { unlocker: RawUnlocker }).unlocker
      await guard(
        'initWallet',
        new Promise<void>((resolve, reject) =>
          unlocker.initWallet(
            {
              wallet_password: Buffer.from(password, 'utf8'),
              cipher_seed_mnemonic: [...words],
              recovery_window: restore.recoveryWindow,
              ...(restore.channelBackup
                ? {
                    channel_backups: {
                      multi_chan_backup: { multi_chan_backup: restore.channelBackup },
                    },
                  }
                : {}),
            },
            (err) => (err ? reject([503, 'UnexpectedInitWalletError', { err }]) : resolve()),
          ),
        ),
      )
    },
    async unlock(password) {
      try {
        await ln.unlockWallet({ lnd, password })
      } catch (err) {
        if (Array.isArray(err) && err[1] === 'InvalidWalletUnlockPassword') {
          throw new FlashError(
            'lightning.unlock_refused',
            'The Lightning wallet refused the stored wallet password.',
            'The password does not belong to this wallet. Restore the box’s secrets folder from your backup.',
          )
        }
        throw lndError('unlockWallet', err)
      }
    },
    close() {
      for (const service of Object.values(lnd) as { close?: () => void }[]) {
        try {
          service.close?.()
        } catch {
          // already closed
        }
      }
    },
  }
}
