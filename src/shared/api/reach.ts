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
}

export interface PublishedUrlsView {
  readonly base: string
  readonly source: 'public' | 'lan'
  readonly mint: string
  readonly relay: string
  readonly nip05Domain: string
  readonly btcpay: string
}

export interface ReachStatus {
  /** Null before setup. */
  readonly settings: ReachSettings | null
  readonly published?: PublishedUrlsView
  readonly interfaces: readonly NetworkInterfaceView[]
  readonly onions: readonly OnionView[]
  readonly pairing: readonly PairingTarget[]
}

export type AddressCheckResult =
  | { readonly ok: true; readonly via: 'mint' | 'relay' }
  | { readonly ok: false; readonly problem: UserError }

export const reachApi = {
  status: query<ReachStatus>()(z.object({})),
  /** Saves Settings.reach; the front door and Tor follow on the next start of the stack. */
  save: mutation<ReachStatus>()(ReachSettingsSchema),
  /** Fetches this box's own mint keys (or relay key) through the public address. */
  checkAddress: mutation<AddressCheckResult>()(z.object({})),
  /** The lndconnect QR for Zeus (LND REST over Tor, the app macaroon): shown on request only. */
  lndconnect: mutation<PairingTarget>()(z.object({})),
}
