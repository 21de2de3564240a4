// SIMULATOR — test-only. What BTCPay's LND connector (BTCPayServer.Lightning, LndClient) does with
// a store's connection string `type=lnd-rest;server=https://…;macaroon=<hex>;certthumbprint=<hex>`
// (or `macaroonfilepath=`): calls LND's REST API with the macaroon in `Grpc-Metadata-macaroon`,
// trusting exactly the certificate whose SHA-256 thumbprint is pinned. `allowinsecure=true`
// accepts any certificate, as BTCPay does (the box never sends it).
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import { connect, type PeerCertificate } from 'node:tls'

export interface LndRestConnection {
  readonly server: URL
  readonly macaroonHex: string
  readonly certThumbprint: string | null
  readonly allowInsecure: boolean
}

export class ConnectionStringError extends Error {}

export function parseLndRest(connectionString: string): LndRestConnection {
  const kv = new Map<string, string>()
  for (const part of connectionString.split(';')) {
    if (part.trim() === '') continue
    const i = part.indexOf('=')
    if (i < 0)
      throw new ConnectionStringError(
        `The key '${part}' is invalid, it should be in the format key=value`,
      )
    const k = part.slice(0, i).trim().toLowerCase()
    if (kv.has(k)) throw new ConnectionStringError(`Duplicate key ${k}`)
    kv.set(k, part.slice(i + 1).trim())
  }
  const type = kv.get('type')
  if (!type) throw new ConnectionStringError("The key 'type' is mandatory")
  if (type !== 'lnd-rest')
    throw new ConnectionStringError(
      `Unsupported connection string type ${type} (the simulator speaks lnd-rest)`,
    )
  const serverText = kv.get('server')
  if (!serverText) throw new ConnectionStringError("The key 'server' is mandatory for lnd-rest")
  let server: URL
  try {
    server = new URL(serverText)
  } catch {
    throw new ConnectionStringError(
      "The key 'server' should be an URI starting by https:// or http://",
    )
  }
  const allowInsecure = (kv.get('allowinsecure') ?? 'false').toLowerCase() === 'true'
  if (server.protocol === 'http:' && !allowInsecure)
    throw new ConnectionStringError(
      "The key 'allowinsecure' should be true if the server is using http",
    )
  let macaroonHex = kv.get('macaroon') ?? ''
  const macaroonFile = kv.get('macaroonfilepath')
  if (!macaroonHex && macaroonFile) macaroonHex = readFileSync(macaroonFile).toString('hex')
  if (!macaroonHex)
    throw new ConnectionStringError(
      "The key 'macaroon' or 'macaroonfilepath' is mandatory for lnd-rest",
    )
  if (!/^[0-9a-f]+$/i.test(macaroonHex))
    throw new ConnectionStringError("The key 'macaroon' should be hex")
  const thumb = kv.get('certthumbprint')?.replace(/:/g, '').toLowerCase() ?? null
  if (thumb !== null && !/^[0-9a-f]{64}$/.test(thumb))
    throw new ConnectionStringError(
      "The key 'certthumbprint' should be a SHA256 fingerprint in hex",
    )
  return { server, macaroonHex, certThumbprint: thumb, allowInsecure }
}

const pemOf = (c: PeerCertificate) =>
  `-----BEGIN CERTIFICATE-----\n${c.raw
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`

/** LND over REST for one connection string. */
export class LndRestClient {
  private pinned: Promise<string | null> | null = null

  constructor(readonly conn: LndRestConnection) {}

  /**
   * The certificate to trust: fetched once with a bare handshake (no request, no macaroon sent),
   * kept only if its SHA-256 thumbprint is the pinned one; every request then trusts only it.
   */
  private ca(): Promise<string | null> {
    if (this.conn.server.protocol !== 'https:' || this.conn.allowInsecure)
      return Promise.resolve(null)
    if (!this.conn.certThumbprint) return Promise.resolve(null) // system roots (not in the box)
    this.pinned ??= new Promise<string>((resolve, reject) => {
      const s = connect({
        host: this.conn.server.hostname,
        port: Number(this.conn.server.port || 443),
        rejectUnauthorized: false,
        servername: isIP(this.conn.server.hostname) ? '' : this.conn.server.hostname,
      })
      s.once('secureConnect', () => {
        const cert = s.getPeerCertificate(false)
        s.destroy()
        const thumb = createHash('sha256').update(cert.raw).digest('hex')
        if (thumb !== this.conn.certThumbprint)
          reject(
            new Error(
              `The certificate thumbprint of ${this.conn.server.host} does not match certthumbprint`,
            ),
          )
        else resolve(pemOf(cert))
      })
      s.once('error', reject)
    }).catch((e: unknown) => {
      this.pinned = null
      throw e
    })
    return this.pinned
  }

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const text = await this.raw(method, path, body)
    return JSON.parse(text) as T
  }

  private async raw(method: string, path: string, body?: unknown): Promise<string> {
    const ca = await this.ca()
    const url = new URL(path, this.conn.server)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          headers: {
            'Grpc-Metadata-macaroon': this.conn.macaroonHex,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          ...(ca
            ? {
                ca,
                servername: isIP(this.conn.server.hostname) ? '' : this.conn.server.hostname,
                checkServerIdentity: () => undefined,
              }
            : { rejectUnauthorized: !this.conn.allowInsecure && !!this.conn.certThumbprint }),
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            if ((res.statusCode ?? 500) >= 300)
              reject(new Error(`LND ${path}: ${res.statusCode} ${text.slice(0, 200)}`))
            else resolve(text)
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error(`LND ${path}: timed out`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  /**
   * LND's SubscribeInvoices over REST: one JSON object per line, `{"result": Invoice}`. Calls
   * `onInvoice` for every update; returns a function that stops it. Reconnects after errors.
   */
  subscribeInvoices(onInvoice: (inv: LndInvoice) => void, log: (l: string) => void): () => void {
    let stopped = false
    let current: { destroy(): void } | null = null
    const run = async () => {
      while (!stopped) {
        try {
          const ca = await this.ca()
          await new Promise<void>((resolve, reject) => {
            const req = httpsRequest(
              new URL('/v1/invoices/subscribe', this.conn.server),
              {
                method: 'GET',
                headers: { 'Grpc-Metadata-macaroon': this.conn.macaroonHex },
                ...(ca
                  ? {
                      ca,
                      servername: isIP(this.conn.server.hostname) ? '' : this.conn.server.hostname,
                      checkServerIdentity: () => undefined,
                    }
                  : { rejectUnauthorized: false }),
              },
              (res) => {
                if ((res.statusCode ?? 500) >= 300) {
                  res.resume()
                  reject(new Error(`subscribe: HTTP ${res.statusCode}`))
                  return
                }
                let buf = ''
                res.setEncoding('utf8')
                res.on('data', (d: string) => {
                  buf += d
                  for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
                    const line = buf.slice(0, i).trim()
                    buf = buf.slice(i + 1)
                    if (!line) continue
                    try {
                      const msg = JSON.parse(line) as { result?: LndInvoice }
                      if (msg.result) onInvoice(msg.result)
                    } catch {
                      /* a partial or foreign line: skip */
                    }
                  }
                })
                res.on('end', resolve)
                res.on('error', reject)
              },
            )
            current = req
            req.on('error', reject)
            req.end()
          })
        } catch (e) {
          if (!stopped) log(`BTCPAY SIMULATOR LND subscription: ${(e as Error).message}`)
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 250))
      }
    }
    void run()
    return () => {
      stopped = true
      current?.destroy()
    }
  }
}

/** The fields of lnrpc.Invoice the simulator reads (REST JSON: proto names, int64 as strings). */
export interface LndInvoice {
  readonly r_hash: string
  readonly payment_request: string
  readonly state: 'OPEN' | 'SETTLED' | 'CANCELED' | 'ACCEPTED'
  readonly value_msat: string
  readonly amt_paid_msat?: string
  readonly settle_date?: string
}
