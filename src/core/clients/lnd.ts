// LND through ln-service (authenticatedLndGrpc over LND's gRPC API), with LND's own tls.cert as
// the only trusted root — the connection is pinned to the certificate this box's LND generated,
// never to a public CA. The `lnd` object is shared with other engine parts (the mint's Lightning
// backend) that call ln-service directly; this module adds validation and plain-words errors.
import { X509Certificate } from 'node:crypto'
import { createRequire } from 'node:module'
import { z } from 'zod'
import type * as Lightning from 'lightning'
import { FlashError } from '../errors'
import { redact } from '../log'

// ln-service is CommonJS without its own typings; its API is `lightning`'s, whose typings it re-exports.
const lnService = createRequire(import.meta.url)('ln-service') as typeof Lightning

export type AuthenticatedLnd = Lightning.AuthenticatedLnd

export interface LndClientOptions {
  /** host:port of LND's gRPC listener, e.g. 127.0.0.1:10009 */
  readonly socket: string
  /** LND's tls.cert (PEM). */
  readonly cert: string
  /** admin.macaroon (or a narrower one), raw bytes. */
  readonly macaroon: Uint8Array
  readonly timeoutMs?: number
}

export interface LndInfo {
  readonly publicKey: string
  readonly alias: string
  readonly version: string
  readonly blockHeight: number
  readonly blockHash: string
  readonly syncedToChain: boolean
  readonly syncedToGraph: boolean
  readonly activeChannels: number
  readonly peers: number
}

export interface LndBalances {
  readonly onchainSat: number
  readonly channelsSat: number
}

const SocketSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port')

export class LndClient {
  readonly lnd: AuthenticatedLnd
  private readonly timeoutMs: number

  constructor(opts: LndClientOptions) {
    if (!SocketSchema.safeParse(opts.socket).success) {
      throw new FlashError(
        'lnd.bad-address',
        `The Lightning node address "${opts.socket}" is not host:port.`,
        'Check the Lightning settings; the address looks like 127.0.0.1:10009.',
      )
    }
    let cert: X509Certificate
    try {
      cert = new X509Certificate(opts.cert)
    } catch {
      throw new FlashError(
        'lnd.bad-cert',
        "The Lightning node's TLS certificate (tls.cert) cannot be read.",
        'The file may be damaged. Restart the Lightning node from Flash Box so it writes a new one.',
      )
    }
    if (Date.parse(cert.validTo) < Date.now()) {
      throw new FlashError(
        'lnd.cert-expired',
        `The Lightning node's TLS certificate expired on ${new Date(cert.validTo).toDateString()}.`,
        'Delete tls.cert and tls.key in the Lightning data folder and restart the Lightning node; it makes new ones.',
      )
    }
    if (opts.macaroon.length === 0) {
      throw new FlashError(
        'lnd.no-macaroon',
        'The Lightning node access key (macaroon) is empty.',
        'Restart the Lightning node from Flash Box so it writes its access keys again.',
      )
    }
    const macaroonHex = Buffer.from(opts.macaroon).toString('hex')
    redact(macaroonHex)
    this.timeoutMs = opts.timeoutMs ?? 15_000
    this.lnd = lnService.authenticatedLndGrpc({
      cert: Buffer.from(opts.cert).toString('base64'),
      macaroon: macaroonHex,
      socket: opts.socket,
    }).lnd
  }

  async getInfo(): Promise<LndInfo> {
    const w = await this.guard('getWalletInfo', lnService.getWalletInfo({ lnd: this.lnd }))
    return {
      publicKey: w.public_key,
      alias: w.alias,
      version: w.version,
      blockHeight: w.current_block_height,
      blockHash: w.current_block_hash,
      syncedToChain: w.is_synced_to_chain,
      syncedToGraph: w.is_synced_to_graph === true,
      activeChannels: w.active_channels_count,
      peers: w.peers_count,
    }
  }

  async getBalances(): Promise<LndBalances> {
    const [chain, channels] = await Promise.all([
      this.guard('getChainBalance', lnService.getChainBalance({ lnd: this.lnd })),
      this.guard('getChannelBalance', lnService.getChannelBalance({ lnd: this.lnd })),
    ])
    return { onchainSat: chain.chain_balance, channelsSat: channels.channel_balance }
  }

  /** Closes the gRPC channels. */
  close(): void {
    for (const service of Object.values(this.lnd) as { close?: () => void }[]) {
      try {
        service.close?.()
      } catch {
        // already closed
      }
    }
  }

  /** Runs an ln-service call with a deadline and turns its `[code, message, {err}]` into a FlashError. */
  async guard<T>(what: string, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new FlashError(
              'lnd.timeout',
              `The Lightning node did not answer within ${Math.round(this.timeoutMs / 1000)} seconds.`,
              'It may still be starting. Wait a minute; if it stays silent, restart it from the dashboard.',
            ),
          ),
        this.timeoutMs,
      )
    })
    try {
      return await Promise.race([call, deadline])
    } catch (err) {
      throw lndError(what, err)
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Maps ln-service's `[status, 'Code', { err }]` arrays (and raw gRPC errors) to FlashErrors. */
export function lndError(what: string, err: unknown): FlashError {
  if (err instanceof FlashError) return err
  const [, code, extra] = Array.isArray(err) ? err : [undefined, undefined, { err }]
  const grpcErr = (extra as { err?: { details?: string; message?: string } } | undefined)?.err
  const details = `${grpcErr?.details ?? ''} ${grpcErr?.message ?? ''}`.toLowerCase()
  if (
    code === 'LndLocked' ||
    details.includes('wallet locked') ||
    details.includes('unknown service lnrpc.lightning')
  ) {
    return new FlashError(
      'lnd.locked',
      'The Lightning wallet is locked.',
      'Unlock it from the Lightning page, or restart the Lightning node so Flash Box can unlock it.',
    )
  }
  if (details.includes('in the process of starting up')) {
    return new FlashError(
      'lnd.starting',
      'The Lightning node is still starting up.',
      'This is normal right after a start (it waits for the Bitcoin node). Nothing to do but wait.',
    )
  }
  if (
    details.includes('macaroon') ||
    details.includes('verification failed') ||
    details.includes('permission denied')
  ) {
    return new FlashError(
      'lnd.auth',
      'The Lightning node refused Flash Box’s access key (macaroon).',
      'The access key does not belong to this Lightning node. Restart the Lightning node from Flash Box so the keys match again.',
    )
  }
  if (details.includes('certificate') || details.includes('ssl') || details.includes('handshake')) {
    return new FlashError(
      'lnd.tls',
      "The Lightning node's TLS certificate does not match the one Flash Box trusts.",
      'The node may have made a new certificate. Restart the Lightning node from Flash Box so both use the same tls.cert.',
    )
  }
  if (
    code === 'FailedToConnectToDaemon' ||
    details.includes('no connection established') ||
    details.includes('connect failed') ||
    details.includes('unavailable')
  ) {
    return new FlashError(
      'lnd.unreachable',
      'The Lightning node is not running or not accepting connections.',
      'Start the stack from the dashboard. If the Lightning node keeps stopping, open its logs.',
    )
  }
  return new FlashError(
    'lnd.error',
    `The Lightning node could not complete ${what}${typeof code === 'string' ? ` (${code})` : ''}.`,
    'Try again. If it keeps happening, open the Lightning node logs or contact support.',
  )
}
