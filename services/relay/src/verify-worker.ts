// One signature-verification thread of the relay's pool (verify-pool.ts). Self-contained on
// purpose (no relative imports): it is started by file name, from the TypeScript source under
// tsx/Node and as its own bundle (verify-worker.mjs) in the container image.
// Protocol: in { batch, events }, out { batch, results } with results[i] = 1 when events[i]'s
// id and BIP-340 signature are valid; 'ready' once, when the verifier is loaded.
import { parentPort } from 'node:worker_threads'
import { initNostrWasm } from 'nostr-wasm'
import { verifyEvent as verifyPureJs } from 'nostr-tools/pure'

interface WireEvent {
  id: string
  pubkey: string
  created_at: number
  kind: number
  tags: string[][]
  content: string
  sig: string
}

const port = parentPort
if (!port) throw new Error('verify-worker runs as a worker thread')

let verify: (ev: WireEvent) => boolean
let engine: 'wasm' | 'js'
try {
  const nw = await initNostrWasm()
  engine = 'wasm'
  verify = (ev) => {
    try {
      nw.verifyEvent(ev)
      return true
    } catch {
      return false
    }
  }
} catch {
  engine = 'js'
  verify = (ev) => verifyPureJs(ev)
}

port.on('message', (m: { batch: number; events: WireEvent[] }) => {
  const results = new Uint8Array(m.events.length)
  for (let i = 0; i < m.events.length; i++) results[i] = verify(m.events[i]!) ? 1 : 0
  port.postMessage({ batch: m.batch, results }, [results.buffer])
})
port.postMessage({ ready: engine })
