// The reach domain (Settings → Reachability): how phones reach the box, and the pairing QR codes.
import { z } from 'zod'
import type { UserError } from '../errors'
import { ReachSettingsSchema, type ReachSettings } from '../reach'
import { mutation, query } from './procedure'

export interface NetworkInterfaceView {
  readonly name: string
  /** IPv4 and IPv6 addresses, without loopback and link-local. */
  readonly addresses: readonly string[]
}

export interface OnionView {
  readonly name: string
  readonly hostname: string
  readonly purpose: string
}

/** One pairing QR: what to scan, with which app, over which path. */
export interface PairingTarget {
  readonly id: 'mint' | 'relay' | 'nwc' | 'lndconnect' | 'electrum' | 'btcpay-pos'
  readonly title: string
  /** Apps that read it, e.g. "cashu.me, Minibits". */
  readonly apps: string
  /** The address in the QR (absent where it holds a secret, like lndconnect's macaroon). */
  readonly text?: string
  /** SVG data URL of the QR code. */
  readonly qr?: string
  /** Plain words: "Internet (your public address)", "Shop Wi-Fi", "Tor". */
  readonly path: string
  /** Whether the phone must be on the shop's Wi-Fi for this to work. */
  readonly sameWifi: boolean
  /** Why there is no code yet, and what to do. */
  readonly unavailable?: string
  /** The code leads over Tor: it works once Tor has connected (ReachStatus.tor). */
  readonly overTor?: true
}

/** How far the box's tor got in reaching the Tor network (tor's own word, asked on each status). */
export interface TorView {
  /**
   * connecting: below 100% within the allowed time; connected: 100%; offline: tor said it cannot
   * or did not reach 100% in time (`problem` is tor.offline); not-running: no tor to ask;
   * unknown: tor did not answer.
   */
  readonly state: 'connecting' | 'connected' | 'offline' | 'not-running' | 'unknown'
  readonly percent?: number
  /** Plain words, e.g. "Tor: connecting 45% (loading relay descriptors)". */
  readonly words: string
  readonly problem?: UserError
}

export interface PublishedUrlsView {
  readonly base: string
  readonly source: 'public' | 'lan'
  readonly mint: string
  readonly relay: string
  /** `name@<domain>` for NIP-05 and the Lightning address: only on port 443 (else `namesProblem`). */
  readonly nip05Domain?: string
  /** Why there are no NIP-05 names or Lightning address on this base URL, and what to change. */
  readonly namesProblem?: UserError
  readonly btcpay: string
}

/** LAN mode as it stands (Settings → Reachability). */
export interface LanView {
  /** `<name>.local`. */
  readonly host: string
  /** The picked interface's address now; absent when the interface is gone (see `problem`). */
  readonly address?: string
  /** Where customers' phones go: https://<name>.local[:port]. */
  readonly url: string
  /** The owner's UI on the LAN (password + pairing code on a new device). */
  readonly ownerUrl: string
  /** The plain-HTTP page that serves only the CA certificate, and its QR code. */
  readonly caPageUrl?: string
  readonly caPageQr?: string
  /** SHA-256 of the box CA's certificate (compare it on the device); absent until it is made. */
  readonly caFingerprint?: string
  /** Whether `<name>.local` is being announced over mDNS right now. */
  readonly announced: boolean
  readonly pairedDevices: number
  readonly problem?: UserError
  /** Nothing answers where the owner's pages lead (the engine's HTTP server on its port). */
  readonly ownerDoorProblem?: UserError
}

export interface PairingCodeView {
  /** e.g. `7KQ2-M9XD`: works once, until `expiresAt` (ms since the epoch). */
  readonly code: string
  readonly expiresAt: number
}

export interface ReachStatus {
  /** Null before setup. */
  readonly settings: ReachSettings | null
  readonly published?: PublishedUrlsView
  readonly interfaces: readonly NetworkInterfaceView[]
  readonly onions: readonly OnionView[]
  /** Present when Tor is on in the settings. */
  readonly tor?: TorView
  readonly pairing: readonly PairingTarget[]
  readonly lan?: LanView
  /** The pairing code waiting to be used, if any. */
  readonly pairingCode?: PairingCodeView
  /**
   * The engine's HTTP server the front door leads to (NIP-05, the Lightning address, the owner's
   * pages on the LAN) could not open its port (the desktop app's; reach.engine_port_taken).
   */
  readonly engineServerProblem?: UserError
  /** Why the front door (Caddy) does not run, e.g. a LAN port another program holds. */
  readonly frontDoorProblem?: UserError
}

export type AddressCheckResult =
  | { readonly ok: true; readonly via: 'mint' | 'relay' }
  | { readonly ok: false; readonly problem: UserError }

/**
 * saved: Settings → Reachability was saved (the desktop app's front-door upstream follows it).
 * engine-server: the desktop app's engine HTTP server for the front door started, stopped or
 * could not open its port (`problem`, e.g. reach.engine_port_taken).
 */
export type ReachEvent =
  { topic: 'reach'; type: 'saved' } | { topic: 'reach'; type: 'engine-server'; problem?: UserError }

export const reachApi = {
  status: query<ReachStatus>()(z.object({})),
  /** Saves Settings.reach; the front door and Tor follow on the next start of the stack. */
  save: mutation<ReachStatus>()(ReachSettingsSchema),
  /** Fetches this box's own mint keys (or relay key) through the public address. */
  checkAddress: mutation<AddressCheckResult>()(z.object({})),
  /** The lndconnect QR for Zeus (LND REST over Tor, the app macaroon): shown on request only. */
  lndconnect: mutation<PairingTarget>()(z.object({})),
  /** A new one-time code for pairing another device with the owner's UI on the LAN. */
  newPairingCode: mutation<PairingCodeView>()(z.object({})),
  /** Every paired device must pair again (a lost phone). */
  forgetDevices: mutation<ReachStatus>()(z.object({})),
}
