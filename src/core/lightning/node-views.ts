// The owner's view of the box's LND through ln-service: balances, invoices, payments, peers and
// channels as the Lightning page shows them, and the checks an invoice passes before it is paid.
// Every answer leaves out secrets (preimages, macaroons); errors are in plain words.
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import type {
  ChannelView,
  DecodedInvoice,
  InvoiceView,
  LightningBalances,
  LightningLimits,
  PaymentView,
  PeerView,
} from '../../shared/api/lightning'
import type { BitcoinNetworkName } from '../../shared/settings'
import { lndError } from '../clients/lnd'
import { FlashError } from '../errors'
import { failureWords } from './payment-saga'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning & {
  /** ln-service's BOLT 11 decoder (the `invoices` package; untyped in `lightning`). */
  parsePaymentRequest(args: { request: string }): {
    id: string
    destination: string
    description?: string
    expires_at: string
    tokens?: number
  }
}
type Lnd = Lightning.AuthenticatedLnd

async function guard<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (err) {
    throw lndError(what, err)
  }
}

export async function balances(lnd: Lnd): Promise<LightningBalances> {
  const [chain, pendingChain, channel, { channels }, { pending_channels }] = await Promise.all([
    guard('getChainBalance', ln.getChainBalance({ lnd })),
    guard('getPendingChainBalance', ln.getPendingChainBalance({ lnd })),
    guard('getChannelBalance', ln.getChannelBalance({ lnd })),
    guard('getChannels', ln.getChannels({ lnd })),
    guard('getPendingChannels', ln.getPendingChannels({ lnd })),
  ])
  return {
    onchainSat: chain.chain_balance,
    onchainPendingSat: pendingChain.pending_chain_balance,
    channelsLocalSat: channel.channel_balance,
    channelsRemoteSat: channels.reduce((n, c) => n + c.remote_balance, 0),
    channelsPendingSat: pending_channels.reduce((n, c) => n + c.local_balance, 0),
  }
}

type LndInvoice = Lightning.GetInvoicesResult['invoices'][number]

export function invoiceView(i: LndInvoice, now = Date.now()): InvoiceView {
  const state = i.is_confirmed
    ? 'paid'
    : i.is_canceled
      ? 'canceled'
      : Date.parse(i.expires_at) <= now
        ? 'expired'
        : 'open'
  return {
    id: i.id,
    request: i.request ?? '',
    amountSat: i.tokens,
    receivedSat: i.received,
    memo: i.description ?? '',
    state,
    createdAt: i.created_at,
    expiresAt: i.expires_at,
    ...(i.confirmed_at ? { paidAt: i.confirmed_at } : {}),
  }
}

export async function invoices(lnd: Lnd): Promise<InvoiceView[]> {
  const { invoices } = await guard('getInvoices', ln.getInvoices({ lnd, limit: 500 }))
  return invoices.map((i) => invoiceView(i))
}

export async function createInvoice(
  lnd: Lnd,
  input: { amountSat: number; memo: string; expirySeconds: number },
): Promise<InvoiceView> {
  const created = await guard(
    'createInvoice',
    ln.createInvoice({
      lnd,
      tokens: input.amountSat,
      description: input.memo,
      expires_at: new Date(Date.now() + input.expirySeconds * 1000).toISOString(),
    }),
  )
  const i = await guard('getInvoice', ln.getInvoice({ lnd, id: created.id }))
  return invoiceView({ ...i, request: i.request ?? created.request } as unknown as LndInvoice)
}

/** The human-readable part of a BOLT 11 invoice for each network (BOLT 11, SLIP-0173). */
const HRP: Record<BitcoinNetworkName, string> = {
  mainnet: 'bc',
  testnet4: 'tb',
  signet: 'tbs',
  regtest: 'bcrt',
}

function networkOf(request: string): string | undefined {
  const m = /^ln(bcrt|tbs|tb|bc|sb)/i.exec(request)
  return m?.[1]?.toLowerCase()
}

const networkWords: Record<string, string> = {
  bc: 'Bitcoin mainnet',
  tb: 'testnet',
  tbs: 'signet',
  bcrt: 'regtest',
  sb: 'simnet',
}

export function invalidInvoice(cause?: unknown): FlashError {
  return new FlashError(
    'lightning.invalid_invoice',
    'This is not a valid Lightning invoice.',
    'Copy the whole invoice again (it starts with “lnbc”, “lntb” or “lnbcrt”) and paste it.',
    { cause },
  )
}

export function suggestedFeeLimit(amountSat: number, limits: LightningLimits): number {
  return Math.max(limits.minFeeLimitSat, Math.ceil((amountSat * limits.feeLimitPercent) / 100))
}

/**
 * Decodes a BOLT 11 invoice on the box (bech32 checksum, fields, payee recovered from the
 * signature: what LND's DecodePayReq does), so paying costs no extra round trip to LND; LND
 * checks the invoice again when it sends.
 */
export function decodeInvoice(
  request: string,
  network: BitcoinNetworkName,
  limits: LightningLimits,
  now = Date.now(),
): DecodedInvoice {
  const lower = request.toLowerCase()
  const net = networkOf(lower)
  if (!net) throw invalidInvoice()
  if (net !== HRP[network]) {
    throw new FlashError(
      'lightning.wrong_network',
      `This invoice is for ${networkWords[net] ?? 'another network'}, but your box runs on ${network}.`,
      'Ask for an invoice on the same network as your box.',
    )
  }
  let d: ReturnType<typeof ln.parsePaymentRequest>
  try {
    d = ln.parsePaymentRequest({ request: lower })
  } catch (err) {
    throw invalidInvoice(err)
  }
  const amountSat = d.tokens && d.tokens > 0 ? d.tokens : null
  return {
    id: d.id,
    amountSat,
    payee: d.destination,
    description: d.description ?? '',
    expiresAt: d.expires_at,
    expired: Date.parse(d.expires_at) <= now,
    suggestedFeeLimitSat: suggestedFeeLimit(amountSat ?? 0, limits),
  }
}

/** Checks done before anything is recorded or sent. */
export function checkPayable(
  d: DecodedInvoice,
  amountSat: number | undefined,
  limits: LightningLimits,
): number {
  if (d.expired) {
    throw new FlashError(
      'lightning.invoice_expired',
      `This invoice expired on ${new Date(d.expiresAt).toLocaleString('en-GB')}.`,
      'Ask the recipient for a new invoice.',
    )
  }
  const amount = d.amountSat ?? amountSat
  if (!amount) {
    throw new FlashError(
      'lightning.amount_needed',
      'This invoice has no amount: enter how much to pay.',
      'Type the amount in sats, then review again.',
    )
  }
  if (d.amountSat !== null && amountSat !== undefined && amountSat !== d.amountSat) {
    throw new FlashError(
      'lightning.amount_fixed',
      `This invoice asks for exactly ${d.amountSat} sat; it cannot be paid with another amount.`,
      'Leave the amount empty, or ask the recipient for a new invoice.',
    )
  }
  if (amount > limits.maxPaymentSat) {
    throw new FlashError(
      'lightning.over_limit',
      `This payment (${amount} sat) is above your limit of ${limits.maxPaymentSat} sat per payment.`,
      'Raise the limit on the Lightning page (Node → Limits) if you mean to pay this much.',
    )
  }
  return amount
}

type LndPayment = Lightning.GetPaymentsResult['payments'][number]

export function lndPaymentView(p: LndPayment): PaymentView {
  return {
    id: p.id,
    amountSat: p.tokens,
    feeSat: p.fee,
    feeLimitSat: 0,
    state: p.is_confirmed ? 'succeeded' : 'pending',
    destination: p.destination,
    description: '',
    createdAt: p.created_at,
    updatedAt: p.confirmed_at ?? p.created_at,
  }
}

export function withFailureText(v: PaymentView): PaymentView {
  return v.failure ? { ...v, failureText: failureWords[v.failure] } : v
}

export async function peers(lnd: Lnd): Promise<PeerView[]> {
  const { peers } = await guard('getPeers', ln.getPeers({ lnd }))
  return peers.map((p) => ({ publicKey: p.public_key, address: p.socket, inbound: p.is_inbound }))
}

export function parseNodeUri(uri: string): { publicKey: string; socket: string } {
  const m = /^(0[23][0-9a-fA-F]{64})@((?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})$/.exec(
    uri.trim(),
  )
  if (!m) {
    throw new FlashError(
      'lightning.bad_node_uri',
      'That is not a node address.',
      'A node address looks like 02ab…cd@host:9735 (public key, “@”, host and port).',
    )
  }
  return { publicKey: m[1]!.toLowerCase(), socket: m[2]! }
}

export async function connectPeer(lnd: Lnd, uri: string): Promise<void> {
  const { publicKey, socket } = parseNodeUri(uri)
  try {
    await ln.addPeer({ lnd, public_key: publicKey, socket, timeout: 20_000 })
  } catch (err) {
    const e = lndError('addPeer', err)
    if (e.code !== 'lnd.error') throw e
    throw new FlashError(
      'lightning.peer_unreachable',
      `Could not connect to the node at ${socket}.`,
      'Check the address; the node must be online and reachable from this box.',
      { cause: err },
    )
  }
}

export async function channels(lnd: Lnd): Promise<ChannelView[]> {
  const [{ channels: open }, { pending_channels: pending }] = await Promise.all([
    guard('getChannels', ln.getChannels({ lnd })),
    guard('getPendingChannels', ln.getPendingChannels({ lnd })),
  ])
  const views: ChannelView[] = open.map((c) => ({
    id: c.id,
    fundingOutpoint: `${c.transaction_id}:${c.transaction_vout}`,
    peerPublicKey: c.partner_public_key,
    state: c.is_closing ? 'closing' : c.is_active ? 'active' : 'inactive',
    private: c.is_private,
    capacitySat: c.capacity,
    localSat: c.local_balance,
    remoteSat: c.remote_balance,
    ...(c.local_csv !== undefined ? { forceCloseDelayBlocks: c.local_csv } : {}),
    initiatedByPeer: c.is_partner_initiated,
  }))
  for (const c of pending) {
    const outpoint = `${c.transaction_id}:${c.transaction_vout}`
    const state: ChannelView['state'] = c.is_opening
      ? 'opening'
      : c.is_timelocked || c.timelock_blocks !== undefined
        ? 'force_closing'
        : 'waiting_close'
    views.push({
      id: outpoint,
      fundingOutpoint: outpoint,
      peerPublicKey: c.partner_public_key,
      state,
      private: c.is_private ?? false,
      capacitySat: c.capacity,
      localSat: c.local_balance,
      remoteSat: c.remote_balance,
      ...(c.is_opening && c.opening_waiting_blocks !== undefined
        ? { confirmationsLeft: c.opening_waiting_blocks }
        : {}),
      ...(c.blocks_until_expiry !== undefined ? { blocksUntilFunds: c.blocks_until_expiry } : {}),
      initiatedByPeer: c.is_partner_initiated ?? false,
    })
  }
  return views
}

export async function openChannel(
  lnd: Lnd,
  input: { peerPublicKey: string; amountSat: number; feeRate?: number; private: boolean },
): Promise<void> {
  try {
    await ln.openChannel({
      lnd,
      partner_public_key: input.peerPublicKey,
      local_tokens: input.amountSat,
      is_private: input.private,
      ...(input.feeRate ? { chain_fee_tokens_per_vbyte: input.feeRate } : {}),
    })
  } catch (err) {
    const text = JSON.stringify(err).toLowerCase()
    if (text.includes('insufficient') || text.includes('not enough')) {
      throw new FlashError(
        'lightning.not_enough_onchain',
        'Your Lightning node’s wallet does not have enough confirmed bitcoin for this channel and its fee.',
        'Send bitcoin to the node’s wallet first (Lightning page → Node → On-chain address), wait for a confirmation, or choose a smaller amount.',
        { cause: err },
      )
    }
    if (text.includes('not connected') || text.includes('peer is not online')) {
      throw new FlashError(
        'lightning.peer_not_connected',
        'That node is not connected.',
        'Connect to it first (Lightning page → Channels → Peers), then open the channel.',
        { cause: err },
      )
    }
    throw lndError('openChannel', err)
  }
}

export async function closeChannel(
  lnd: Lnd,
  input: { fundingOutpoint: string; force: boolean },
): Promise<void> {
  const [txid, vout] = input.fundingOutpoint.split(':')
  try {
    await (input.force
      ? ln.closeChannel({
          lnd,
          transaction_id: txid!,
          transaction_vout: Number(vout),
          is_force_close: true,
        })
      : ln.closeChannel({ lnd, transaction_id: txid!, transaction_vout: Number(vout) }))
  } catch (err) {
    throw lndError('closeChannel', err)
  }
}
