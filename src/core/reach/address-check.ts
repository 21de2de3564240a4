// Does the public address lead back to this box? The box asks for something only it has through
// the address: the mint's keys (NUT-01 /v1/keys: its keysets' public keys come from this box's own
// seed) and, without a mint, the relay's own pubkey (NIP-11 `self`), and compares them with what
// its services answer on this computer.
import type { UserError } from '../../shared/errors'

export type AddressCheck =
  | { readonly ok: true; readonly via: 'mint' | 'relay' }
  | { readonly ok: false; readonly problem: UserError }

export interface OwnServices {
  /** The mint on this computer (http://127.0.0.1:…), when it runs. */
  readonly mintUrl?: string
  /** The relay on this computer (ws://127.0.0.1:…), when it runs. */
  readonly relayUrl?: string
  readonly timeoutMs?: number
}

const unreachable = (base: string, why: string): AddressCheck => ({
  ok: false,
  problem: {
    code: 'reach.address_unreachable',
    message: `Flash Box could not reach itself at ${base} (${why}).`,
    hint: 'Check the address for typos, that your domain points at your router, and that the router forwards the port to this computer. With your own proxy in front, check that it is running.',
  },
})

const notThisBox = (base: string): AddressCheck => ({
  ok: false,
  problem: {
    code: 'reach.address_not_this_box',
    message: `${base} answers, but it is not this Flash Box: another server is at that address.`,
    hint: 'Point the domain (or your router’s port forward, or your proxy) at this computer, then check again.',
  },
})

async function get(url: string, timeoutMs: number, accept?: string): Promise<string> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
    ...(accept ? { headers: { accept } } : {}),
  })
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
  return res.text()
}

const why = (err: unknown): string => {
  const e = err as { name?: string; message?: string; cause?: { code?: string } }
  if (e.name === 'TimeoutError') return 'no answer in time'
  return e.cause?.code ?? e.message ?? 'no answer'
}

export async function checkPublicAddress(base: string, own: OwnServices): Promise<AddressCheck> {
  const timeoutMs = own.timeoutMs ?? 10_000
  const root = base.replace(/\/+$/, '')
  if (own.mintUrl) {
    const mine = await get(`${own.mintUrl.replace(/\/+$/, '')}/v1/keys`, timeoutMs)
    let theirs: string
    try {
      theirs = await get(`${root}/v1/keys`, timeoutMs)
    } catch (err) {
      if ((err as { status?: number }).status) return notThisBox(root)
      return unreachable(root, why(err))
    }
    return JSON.stringify(JSON.parse(theirs)) === JSON.stringify(JSON.parse(mine))
      ? { ok: true, via: 'mint' }
      : notThisBox(root)
  }
  if (own.relayUrl) {
    const nip11 = 'application/nostr+json'
    const mine = JSON.parse(await get(own.relayUrl.replace(/^ws/, 'http'), timeoutMs, nip11)) as {
      self?: string
    }
    let theirs: { self?: string }
    try {
      theirs = JSON.parse(await get(`${root}/`, timeoutMs, nip11)) as { self?: string }
    } catch (err) {
      if ((err as { status?: number }).status || err instanceof SyntaxError) return notThisBox(root)
      return unreachable(root, why(err))
    }
    return mine.self && theirs.self === mine.self ? { ok: true, via: 'relay' } : notThisBox(root)
  }
  return {
    ok: false,
    problem: {
      code: 'reach.nothing_to_check',
      message:
        'Neither the mint nor the relay is running, so there is nothing to check the address with.',
      hint: 'Start the mint or the relay from the dashboard, then check again.',
    },
  }
}
