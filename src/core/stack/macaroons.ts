// Each LND consumer gets the narrowest macaroon that does its job, never admin.macaroon.
// Permissions are LND's entity:action pairs (`lncli bakemacaroon`, docs.lightning.engineering
// "Macaroons"). Baking happens with the Lightning setup (BakeMacaroon RPC, after the wallet
// exists); this table says what to bake and where the file goes, and the catalog mounts it.
import { stackPaths } from './paths'

/**
 * `dashboard` is the app's read-only view; `app` is the app's own Lightning actions (the
 * Lightning page: receive, pay, peers, channels, channel backups), used by the engine only.
 */
export type MacaroonConsumer = 'btcpay' | 'mint' | 'dashboard' | 'app'

export type MacaroonEntity =
  | 'onchain'
  | 'offchain'
  | 'address'
  | 'message'
  | 'peers'
  | 'info'
  | 'invoices'
  | 'signer'
  | 'macaroon'
export type MacaroonPermission = `${MacaroonEntity}:${'read' | 'write' | 'generate'}`

export interface MacaroonGrant {
  readonly consumer: MacaroonConsumer
  readonly permissions: readonly MacaroonPermission[]
  /**
   * The LND RPCs the consumer calls (gRPC method URIs; BTCPay calls their REST twins). The
   * permissions are exactly what these need (tested against lnd's own permission table).
   */
  readonly rpcs: readonly string[]
  /** What the consumer does with them, in one line. */
  readonly reason: string
}

const grants: Readonly<Record<MacaroonConsumer, MacaroonGrant>> = {
  // BTCPay's Lightning for a shop is receiving: create and watch invoices, show the node's
  // channels and balances. Paying out over Lightning (payouts, refunds) would need
  // offchain:write; it is deliberately not granted — refunds are made by the owner in the app.
  btcpay: {
    consumer: 'btcpay',
    permissions: ['info:read', 'invoices:read', 'invoices:write', 'offchain:read', 'onchain:read'],
    rpcs: [
      '/lnrpc.Lightning/GetInfo',
      '/lnrpc.Lightning/AddInvoice',
      '/lnrpc.Lightning/LookupInvoice',
      '/lnrpc.Lightning/ListInvoices',
      '/lnrpc.Lightning/SubscribeInvoices',
      '/lnrpc.Lightning/ListChannels',
      '/lnrpc.Lightning/PendingChannels',
      '/lnrpc.Lightning/ChannelBalance',
      '/lnrpc.Lightning/WalletBalance',
    ],
    reason: 'receive payments (invoices), show node info, channels and balances',
  },
  // The Cashu mint: mint quotes are invoices (NUT-04), melt quotes pay invoices (NUT-05) and
  // need route-fee estimates and payment tracking (offchain read/write).
  mint: {
    consumer: 'mint',
    permissions: [
      'info:read',
      'invoices:read',
      'invoices:write',
      'offchain:read',
      'offchain:write',
    ],
    rpcs: [
      '/lnrpc.Lightning/GetInfo',
      '/lnrpc.Lightning/AddInvoice',
      '/lnrpc.Lightning/LookupInvoice',
      '/lnrpc.Lightning/SubscribeInvoices',
      // A mint quote settled inside the box: its invoice is cancelled (invoices:write).
      '/invoicesrpc.Invoices/CancelInvoice',
      '/lnrpc.Lightning/DecodePayReq',
      '/routerrpc.Router/EstimateRouteFee',
      '/routerrpc.Router/SendPaymentV2',
      '/routerrpc.Router/TrackPaymentV2',
    ],
    reason: 'create and watch invoices for minting, pay invoices for melting',
  },
  // The dashboard only looks: the same permissions as LND's own readonly.macaroon.
  dashboard: {
    consumer: 'dashboard',
    permissions: [
      'address:read',
      'info:read',
      'invoices:read',
      'macaroon:read',
      'message:read',
      'offchain:read',
      'onchain:read',
      'peers:read',
      'signer:read',
    ],
    rpcs: [
      '/lnrpc.Lightning/GetInfo',
      '/lnrpc.Lightning/WalletBalance',
      '/lnrpc.Lightning/ChannelBalance',
      '/lnrpc.Lightning/ListChannels',
      '/lnrpc.Lightning/PendingChannels',
      '/lnrpc.Lightning/ListPeers',
      '/lnrpc.Lightning/ListInvoices',
      '/lnrpc.Lightning/ListPayments',
      '/lnrpc.Lightning/GetTransactions',
    ],
    reason: 'show status, balances, channels and payments',
  },
  // The owner's actions on the Lightning page. Spending on chain is only what opening and
  // closing channels needs (OpenChannel/CloseChannel require onchain:write); no signing, no
  // message signing, no baking of further macaroons, no stopping the daemon.
  app: {
    consumer: 'app',
    permissions: [
      'address:write',
      'info:read',
      'invoices:read',
      'invoices:write',
      'offchain:read',
      'offchain:write',
      'onchain:read',
      'onchain:write',
      'peers:read',
      'peers:write',
    ],
    rpcs: [
      '/lnrpc.Lightning/GetInfo',
      '/lnrpc.Lightning/GetNodeInfo',
      '/lnrpc.Lightning/WalletBalance',
      '/lnrpc.Lightning/ChannelBalance',
      '/lnrpc.Lightning/NewAddress',
      '/lnrpc.Lightning/ListChannels',
      '/lnrpc.Lightning/PendingChannels',
      '/lnrpc.Lightning/ClosedChannels',
      '/lnrpc.Lightning/ListPeers',
      '/lnrpc.Lightning/ConnectPeer',
      '/lnrpc.Lightning/OpenChannel',
      '/lnrpc.Lightning/CloseChannel',
      '/lnrpc.Lightning/AddInvoice',
      '/lnrpc.Lightning/LookupInvoice',
      '/lnrpc.Lightning/ListInvoices',
      '/lnrpc.Lightning/SubscribeInvoices',
      '/lnrpc.Lightning/DecodePayReq',
      '/lnrpc.Lightning/ListPayments',
      '/lnrpc.Lightning/SubscribeChannelBackups',
      '/routerrpc.Router/SendPaymentV2',
      '/routerrpc.Router/TrackPaymentV2',
      '/routerrpc.Router/EstimateRouteFee',
      // Circular rebalancing: a route back to the node itself, paid to its own invoice.
      '/lnrpc.Lightning/QueryRoutes',
      '/routerrpc.Router/SendToRouteV2',
    ],
    reason:
      'the owner’s Lightning page: receive, pay, peers, channels, channel backups and rebalancing',
  },
}

export function macaroonFor(consumer: MacaroonConsumer): MacaroonGrant {
  return grants[consumer]
}

/** The consumers in containers or read-only views (never spend on chain or change peers). */
export const serviceMacaroonConsumers: readonly MacaroonConsumer[] = ['btcpay', 'mint', 'dashboard']
/** Every macaroon the box bakes. */
export const macaroonConsumers: readonly MacaroonConsumer[] = [...serviceMacaroonConsumers, 'app']

/**
 * Host directory for one consumer's macaroon: <dataDir>/lnd/macaroons/<consumer>/. A directory
 * (not the file) is bind-mounted, so the container can start before the macaroon is baked.
 */
export function macaroonDir(dataDir: string, consumer: MacaroonConsumer): string {
  return stackPaths(dataDir).macaroonDir(consumer)
}

export function macaroonPath(dataDir: string, consumer: MacaroonConsumer): string {
  return stackPaths(dataDir).macaroon(consumer)
}

/** Where the consumer's container sees its macaroon directory. */
export const MACAROON_MOUNT = '/lnd-macaroon'
