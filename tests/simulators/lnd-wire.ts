// SIMULATOR support — test-only. LND's wire shapes and server plumbing, written once for both LND
// simulators: the single node of lnd-simulator.ts and the world's nodes (world/lnd-rpc.ts). The
// message shapes follow lightning.proto (`Invoice`, `PayReq`, `Payment`); the files follow where
// LND keeps them (tls.cert/tls.key, <network>/{admin,readonly,invoice}.macaroon).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { decodeBolt11, type Bolt11Invoice } from './bolt11'
import { FEATURES, INVOICE_FEATURE_BITS, protosDir, writeSecretFile } from './lnd-common'
import type { Invoice, InvoiceRequest } from './lnd-invoice'
import { DEFAULT_MACAROONS, mintMacaroon, verifyMacaroon } from './macaroon-v2'
import { createSelfSignedCert } from './x509-self-signed'

/** An error the gRPC server sends as `code` + `details`, as LND does. */
export class GrpcError extends Error {
  constructor(
    readonly code: grpc.status,
    details: string,
  ) {
    super(details)
  }
}

export const msatToSat = (m: bigint): string => (m / 1000n).toString()

// --- messages -------------------------------------------------------------------------------------

/** lnrpc.Invoice */
export const invoiceMessage = (inv: Invoice<unknown>) => ({
  memo: inv.memo,
  r_preimage: inv.preimage ?? Buffer.alloc(0),
  r_hash: inv.hash,
  value: msatToSat(inv.valueMsat),
  value_msat: inv.valueMsat.toString(),
  settled: inv.state === 'SETTLED',
  creation_date: String(inv.creationDate),
  settle_date: String(inv.settleDate),
  payment_request: inv.paymentRequest,
  description_hash: inv.descriptionHash,
  expiry: String(inv.expiry),
  fallback_addr: '',
  cltv_expiry: String(inv.cltvExpiry),
  route_hints: [],
  private: inv.private,
  add_index: String(inv.addIndex),
  settle_index: String(inv.settleIndex),
  amt_paid: msatToSat(inv.amtPaidMsat),
  amt_paid_sat: msatToSat(inv.amtPaidMsat),
  amt_paid_msat: inv.amtPaidMsat.toString(),
  state: inv.state,
  htlcs: inv.htlcs,
  features: Object.fromEntries(INVOICE_FEATURE_BITS.map((b) => [b, FEATURES[b]])),
  is_keysend: false,
  payment_addr: inv.paymentAddr,
  is_amp: false,
})

/** AddInvoice's lnrpc.Invoice or AddHoldInvoice's request, as far as the simulators read them. */
export interface AddInvoiceFields {
  value?: unknown
  value_msat?: unknown
  memo?: unknown
  description_hash?: Buffer
  expiry?: unknown
  cltv_expiry?: unknown
  r_preimage?: Buffer
  hash?: Buffer
  private?: unknown
}

/**
 * The invoice AddInvoice (or, `hold`, AddHoldInvoice: the hash given, no preimage) adds, with LND's
 * refusals of a bad preimage or hash.
 */
export function invoiceRequestOf(r: AddInvoiceFields, hold = false): InvoiceRequest {
  if (hold && r.hash?.length !== 32) throw new GrpcError(grpc.status.UNKNOWN, 'invalid hash length')
  if (!hold && r.r_preimage?.length && r.r_preimage.length !== 32)
    throw new GrpcError(grpc.status.UNKNOWN, 'payment preimage must be exactly 32 bytes')
  const msat = BigInt(String(r.value_msat || 0))
  return {
    valueMsat: msat || BigInt(String(r.value || 0)) * 1000n,
    memo: String(r.memo ?? ''),
    ...(r.description_hash?.length ? { descriptionHash: r.description_hash } : {}),
    expiry: Number(r.expiry ?? 0),
    cltvExpiry: Number(r.cltv_expiry ?? 0),
    ...(hold ? { hash: r.hash } : r.r_preimage?.length ? { preimage: r.r_preimage } : {}),
    private: !!r.private,
  }
}

/** invoicesrpc.AddHoldInvoiceResp */
export const addHoldInvoiceResponse = (inv: Invoice<unknown>) => ({
  payment_request: inv.paymentRequest,
  add_index: String(inv.addIndex),
  payment_addr: inv.paymentAddr,
})

/** lnrpc.AddInvoiceResponse */
export const addInvoiceResponse = (inv: Invoice<unknown>) => ({
  r_hash: inv.hash,
  ...addHoldInvoiceResponse(inv),
})

/** LookupInvoice(V2), CancelInvoice: the invoice with this payment hash (bytes or hex). */
export function lookupInvoice<I>(
  invoices: ReadonlyMap<string, I>,
  hash: Buffer | string | undefined,
): I {
  const key = typeof hash === 'string' ? hash : (hash ?? Buffer.alloc(0)).toString('hex')
  if (key.length !== 64) throw new GrpcError(grpc.status.UNKNOWN, 'invalid hash length')
  const inv = invoices.get(key.toLowerCase())
  if (!inv) throw new GrpcError(grpc.status.NOT_FOUND, 'unable to locate invoice')
  return inv
}

/** SettleInvoice: the ACCEPTED hold invoice this preimage settles (undefined: settled already). */
export function invoiceToSettle<I extends Invoice<unknown>>(
  invoices: ReadonlyMap<string, I>,
  preimage: Buffer,
): I | undefined {
  const inv = invoices.get(createHash('sha256').update(preimage).digest('hex'))
  if (!inv) throw new GrpcError(grpc.status.NOT_FOUND, 'unable to locate invoice')
  if (inv.state === 'OPEN') throw new GrpcError(grpc.status.UNKNOWN, 'invoice still open')
  if (inv.state === 'CANCELED') throw new GrpcError(grpc.status.UNKNOWN, 'invoice already canceled')
  return inv.state === 'ACCEPTED' ? inv : undefined
}

/** CancelInvoice: whether the invoice is still to cancel (a settled one is refused). */
export function isToCancel(inv: Invoice<unknown>): boolean {
  if (inv.state === 'SETTLED') throw new GrpcError(grpc.status.UNKNOWN, 'invoice already settled')
  return inv.state !== 'CANCELED'
}

/** lnrpc.ListInvoiceResponse: LND's paging by add index, forwards or `reversed`. */
export function listInvoicesMessage(
  invoices: Iterable<Invoice<unknown>>,
  r: {
    pending_only?: unknown
    index_offset?: unknown
    num_max_invoices?: unknown
    reversed?: unknown
  },
) {
  let all = [...invoices].filter(
    (i) => !r.pending_only || i.state === 'OPEN' || i.state === 'ACCEPTED',
  )
  const offset = Number(r.index_offset ?? 0)
  const max = Number(r.num_max_invoices ?? 0) || 1000
  all = r.reversed
    ? all.filter((i) => !offset || i.addIndex < offset).slice(-max)
    : all.filter((i) => i.addIndex > offset).slice(0, max)
  return {
    invoices: all.map(invoiceMessage),
    first_index_offset: String(all[0]?.addIndex ?? 0),
    last_index_offset: String(all[all.length - 1]?.addIndex ?? 0),
  }
}

/**
 * SubscribeInvoices: the backlog LND replays first (invoices added after `add_index` or settled
 * after `settle_index`); then `isInvoiceStreamUpdate` says which live updates it sends.
 */
export function invoiceBacklog<I extends Invoice<unknown>>(
  invoices: Iterable<I>,
  r: { add_index?: unknown; settle_index?: unknown },
): I[] {
  const addFrom = Number(r.add_index ?? 0)
  const settleFrom = Number(r.settle_index ?? 0)
  return [...invoices].filter(
    (inv) =>
      (addFrom > 0 && inv.addIndex > addFrom) || (settleFrom > 0 && inv.settleIndex > settleFrom),
  )
}

/** LND's SubscribeInvoices sends adds and settlements only. */
export const isInvoiceStreamUpdate = (inv: Invoice<unknown>): boolean =>
  inv.state === 'OPEN' || inv.state === 'SETTLED'

/** SubscribeSingleInvoice ends after a final state. */
export const isInvoiceFinal = (inv: Invoice<unknown>): boolean =>
  inv.state === 'SETTLED' || inv.state === 'CANCELED'

/** A BOLT 11 request decoded as LND's DecodePayReq does, with LND's refusals. */
export function decodePayReqOrThrow(request: string): Bolt11Invoice {
  try {
    return decodeBolt11(request)
  } catch (err) {
    throw new GrpcError(grpc.status.UNKNOWN, `invalid payment request: ${(err as Error).message}`)
  }
}

/** lnrpc.PayReq, for a request of this node's network (LND refuses the others). */
export function payReqMessage(inv: Bolt11Invoice, network: string) {
  if (inv.network !== network)
    throw new GrpcError(grpc.status.UNKNOWN, `invoice not for current active network '${network}'`)
  return {
    destination: inv.payee,
    payment_hash: inv.paymentHash,
    num_satoshis: msatToSat(inv.amountMsat ?? 0n),
    timestamp: String(inv.timestamp),
    expiry: String(inv.expirySeconds),
    description: inv.description ?? '',
    description_hash: inv.descriptionHash ?? '',
    fallback_addr: '',
    cltv_expiry: String(inv.minFinalCltvExpiry),
    route_hints: [],
    payment_addr: Buffer.from(inv.paymentSecret, 'hex'),
    num_msat: (inv.amountMsat ?? 0n).toString(),
    features: Object.fromEntries(
      inv.featureBits.map((b) => [
        b,
        FEATURES[b] ?? { name: 'unknown', is_required: b % 2 === 0, is_known: false },
      ]),
    ),
    blinded_paths: [],
  }
}

export interface PaymentRecord {
  hash: string
  index: number
  valueMsat: bigint
  feeMsat: bigint
  creationTimeNs: bigint
  preimage: string | null
  paymentRequest: string
  status: string
  failureReason: string
}

/** lnrpc.Payment, around the HTLC attempts the caller shapes. */
export const paymentMessage = (p: PaymentRecord, htlcs: readonly unknown[]) => ({
  payment_hash: p.hash,
  value: msatToSat(p.valueMsat),
  creation_date: String(p.creationTimeNs / 1_000_000_000n),
  fee: msatToSat(p.feeMsat),
  payment_preimage: p.preimage ?? '0'.repeat(64),
  value_sat: msatToSat(p.valueMsat),
  value_msat: p.valueMsat.toString(),
  payment_request: p.paymentRequest,
  status: p.status,
  fee_sat: msatToSat(p.feeMsat),
  fee_msat: p.feeMsat.toString(),
  creation_time_ns: p.creationTimeNs.toString(),
  htlcs,
  payment_index: String(p.index),
  failure_reason: p.failureReason,
})

// --- files ----------------------------------------------------------------------------------------

/**
 * LND's tls.cert/tls.key: kept across restarts, made once (self-signed, with LND's usual names)
 * when either is missing. A box-supplied pair is used as is. Returns the certificate PEM.
 */
export function ensureLndTls(o: {
  certFile: string
  keyFile: string
  commonName: string
  hostName: string
  extraDomains?: readonly string[]
  extraIps?: readonly string[]
}): string {
  if (!existsSync(o.certFile) || !existsSync(o.keyFile)) {
    const made = createSelfSignedCert({
      commonName: o.commonName,
      dnsNames: [
        'localhost',
        o.hostName,
        'unix',
        'unixpacket',
        'bufconn',
        ...(o.extraDomains ?? []),
      ],
      ips: ['127.0.0.1', '::1', ...(o.extraIps ?? [])],
    })
    writeSecretFile(o.keyFile, made.keyPem, 0o600)
    writeFileSync(o.certFile, made.certPem, { mode: 0o644 })
  }
  return readFileSync(o.certFile, 'utf8')
}

export type MacaroonName = 'admin' | 'readonly' | 'invoice'

/**
 * At unlock, as LND: the macaroon root key (made once), and the three default macaroons, kept when
 * they still verify and written to `macaroonDir` unless the wallet was made stateless. Fills
 * `macaroons` and returns the root key.
 */
export function openMacaroons(
  rootKeyFile: string,
  macaroonDir: string,
  statelessInit: boolean,
  macaroons: Record<MacaroonName, Buffer>,
): Buffer {
  if (!existsSync(rootKeyFile)) writeSecretFile(rootKeyFile, randomBytes(32), 0o600)
  const rootKey = readFileSync(rootKeyFile)
  for (const name of ['admin', 'readonly', 'invoice'] as const) {
    const file = join(macaroonDir, `${name}.macaroon`)
    const existing = existsSync(file) ? readFileSync(file) : null
    macaroons[name] =
      existing && verifyMacaroon(rootKey, existing).ok
        ? existing
        : mintMacaroon(rootKey, DEFAULT_MACAROONS[name])
    if (!statelessInit && !existing?.equals(macaroons[name]))
      writeSecretFile(file, macaroons[name], 0o600)
  }
  return rootKey
}

// --- gRPC server ----------------------------------------------------------------------------------

export type LndProtoPackage = Record<string, Record<string, { service: grpc.ServiceDefinition }>>

/** One of LND's real .proto files (as ln-service ships them), loaded the way LND's clients do. */
export function loadLndProto(file: string): LndProtoPackage {
  const dir = protosDir()
  const definition = protoLoader.loadSync(join(dir, file), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [dir],
  })
  return grpc.loadPackageDefinition(definition) as unknown as LndProtoPackage
}

/** Binds the server with LND's TLS pair; resolves to the port. */
export function bindLndGrpc(
  server: grpc.Server,
  host: string,
  port: number,
  keyFile: string,
  certPem: string,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host.includes(':') ? `[${host}]` : host}:${port}`,
      grpc.ServerCredentials.createSsl(
        null,
        [{ private_key: readFileSync(keyFile), cert_chain: Buffer.from(certPem) }],
        false,
      ),
      (err, p) => (err ? reject(err) : resolve(p)),
    )
  })
}
