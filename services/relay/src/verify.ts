// Event id + BIP-340 signature verification. nostr-wasm (libsecp256k1 compiled to WASM) is
// several times faster than pure JS; nostr-tools' verifier is the fallback if WASM cannot start.
import { initNostrWasm, type Nostr } from 'nostr-wasm'
import { verifyEvent as verifyPureJs } from 'nostr-tools/pure'
import type { NostrEvent } from './nip01'

export type Verifier = ((ev: NostrEvent) => boolean) & { readonly engine: 'wasm' | 'js' }

let shared: Promise<Verifier> | undefined

export function loadVerifier(): Promise<Verifier> {
  shared ??= (async () => {
    let nw: Nostr | undefined
    try {
      nw = await initNostrWasm()
    } catch {
      nw = undefined
    }
    if (nw) {
      const wasm = nw
      return Object.assign(
        (ev: NostrEvent) => {
          try {
            wasm.verifyEvent(ev)
            return true
          } catch {
            return false
          }
        },
        { engine: 'wasm' as const },
      )
    }
    // nostr-tools caches a positive result on the object under a symbol (which a spread would
    // copy): verify a fresh object holding only the event's fields.
    return Object.assign(
      (ev: NostrEvent) =>
        verifyPureJs({
          id: ev.id,
          pubkey: ev.pubkey,
          created_at: ev.created_at,
          kind: ev.kind,
          tags: ev.tags,
          content: ev.content,
          sig: ev.sig,
        }),
      { engine: 'js' as const },
    )
  })()
  return shared
}
