// NIP-13 proof of work: difficulty = leading zero bits of the event id.
// https://github.com/nostr-protocol/nips/blob/master/13.md
import { reason, type NostrEvent } from './nip01'
import type { EventPolicy } from './policies/types'

export function difficulty(idHex: string): number {
  let bits = 0
  for (let i = 0; i < idHex.length; i++) {
    const nibble = parseInt(idHex[i]!, 16)
    if (nibble === 0) {
      bits += 4
      continue
    }
    bits += Math.clz32(nibble) - 28
    break
  }
  return bits
}

/** The target the author committed to in `["nonce", n, target]`, if any. */
export function committedTarget(ev: NostrEvent): number | undefined {
  const t = ev.tags.find((x) => x[0] === 'nonce')
  const n = t?.[2] !== undefined ? Number(t[2]) : NaN
  return Number.isInteger(n) ? n : undefined
}

export function powPolicy(min: number): EventPolicy {
  return (ev) => {
    const d = difficulty(ev.id)
    if (d < min) return reason('pow', `difficulty ${d} is less than ${min}`)
    const target = committedTarget(ev)
    // A lucky id without a commitment to the target does not count (NIP-13 "delegated" spam guard).
    if (target === undefined || target < min)
      return reason('pow', `the nonce tag must commit to a target of at least ${min}`)
    return undefined
  }
}
