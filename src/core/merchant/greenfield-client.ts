// A small BTCPay Greenfield client (https://docs.btcpayserver.org/API/Greenfield/v1/): JSON over
// HTTP with `Authorization: token <key>` or Basic auth. Every failure becomes a FlashError with a
// plain sentence (greenfield-errors.ts).
import { btcpayUnreachable, greenfieldError } from './greenfield-errors'

export type GreenfieldAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly email: string; readonly password: string }
  | { readonly kind: 'token'; readonly apiKey: string }

export class GreenfieldHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Greenfield HTTP ${status}`)
  }
}

export class GreenfieldClient {
  constructor(
    readonly baseUrl: string,
    private readonly auth: GreenfieldAuth,
    private readonly timeoutMs = 15_000,
  ) {}

  withAuth(auth: GreenfieldAuth): GreenfieldClient {
    return new GreenfieldClient(this.baseUrl, auth, this.timeoutMs)
  }

  /** The raw answer; throws GreenfieldHttpError on non-2xx (for callers that branch on it). */
  async raw<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.auth.kind === 'token') headers.authorization = `token ${this.auth.apiKey}`
    if (this.auth.kind === 'basic')
      headers.authorization = `Basic ${Buffer.from(`${this.auth.email}:${this.auth.password}`).toString('base64')}`
    const res = await fetch(this.baseUrl.replace(/\/$/, '') + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    })
    const text = await res.text()
    let json: unknown = undefined
    if (text) {
      try {
        json = JSON.parse(text)
      } catch {
        json = text
      }
    }
    if (!res.ok) throw new GreenfieldHttpError(res.status, json)
    return json as T
  }

  /** The answer, or a FlashError saying in words what failed while doing `what`. */
  async call<T>(method: string, path: string, body: unknown, what: string): Promise<T> {
    try {
      return await this.raw<T>(method, path, body)
    } catch (err) {
      if (err instanceof GreenfieldHttpError) throw greenfieldError(err.status, err.body, what)
      throw btcpayUnreachable(what, err)
    }
  }
}
