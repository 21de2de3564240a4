import { describe, expect, it, vi } from 'vitest'
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure'
import type { NostrEvent } from './nip01'

const ev = finalizeEvent(
  { kind: 1, created_at: 1, tags: [], content: 'hi' },
  generateSecretKey(),
) as NostrEvent

describe('signature verification', () => {
  it('uses nostr-wasm and refuses tampered events', async () => {
    const { loadVerifier } = await import('./verify')
    const v = await loadVerifier()
    expect(v.engine).toBe('wasm')
    expect(v(ev)).toBe(true)
    expect(v({ ...ev, content: 'tampered' })).toBe(false)
    expect(v({ ...ev, sig: 'a'.repeat(128) })).toBe(false)
  })

  it('falls back to nostr-tools when WebAssembly cannot start', async () => {
    vi.resetModules()
    vi.doMock('nostr-wasm', () => ({
      initNostrWasm: () => Promise.reject(new Error('no WebAssembly here')),
    }))
    const { loadVerifier } = await import('./verify')
    const v = await loadVerifier()
    expect(v.engine).toBe('js')
    expect(v(ev)).toBe(true)
    expect(v({ ...ev, content: 'tampered' })).toBe(false)
    vi.doUnmock('nostr-wasm')
  })
})
