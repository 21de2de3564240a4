// Signature verification off the event loop: a pool of worker threads (verify-worker.ts), so
// ingest scales with cores while the main thread parses, stores and fans out. Events arriving in
// the same turn of the event loop go out as one batch, split across the threads; every event's
// answer comes back as a promise (the relay keeps each connection's answers in order).
// With 0 threads, or where the threads cannot start (e.g. the worker file is not shipped beside
// a bundle), verification runs in-process, synchronously, as before.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { NostrEvent } from './nip01'
import type { Verifier } from './verify'

export interface VerifyPool {
  /** Worker threads verifying; 0 = in-process on the event loop. */
  readonly threads: number
  readonly engine: 'wasm' | 'js'
  /** true when the event's id and signature are valid. Synchronous when threads = 0. */
  verify(ev: NostrEvent): boolean | Promise<boolean>
  /** Ends every thread; answers still owed are given by the in-process verifier. */
  close(): Promise<void>
}

/** One thread per core, less the one the event loop needs; 0 on a single core. */
export const defaultVerifyThreads = (): number => Math.max(0, availableParallelism() - 1)

/** The worker's file: the .ts source beside this one, or verify-worker.mjs beside a bundle. */
function workerFile(): string | undefined {
  const here = import.meta.url
  const name = here.endsWith('.ts') ? './verify-worker.ts' : './verify-worker.mjs'
  const path = fileURLToPath(new URL(name, here))
  return existsSync(path) ? path : undefined
}

const MAX_BATCH = 256

interface Owed {
  readonly ev: NostrEvent
  readonly resolve: (ok: boolean) => void
}

interface Thread {
  readonly worker: Worker
  /** Batches sent and not answered yet, by batch number. */
  readonly owed: Map<number, Owed[]>
  load: number
}

function inProcess(fallback: Verifier): VerifyPool {
  return { threads: 0, engine: fallback.engine, verify: fallback, close: async () => {} }
}

function wire(ev: NostrEvent) {
  return {
    id: ev.id,
    pubkey: ev.pubkey,
    created_at: ev.created_at,
    kind: ev.kind,
    tags: ev.tags,
    content: ev.content,
    sig: ev.sig,
  }
}

async function startThread(file: string): Promise<{ worker: Worker; engine: 'wasm' | 'js' }> {
  const worker = new Worker(file)
  let onReady: (m: { ready?: 'wasm' | 'js' }) => void = () => {}
  let onError: (err: Error) => void = () => {}
  let onExit: (code: number) => void = () => {}
  try {
    const engine = await new Promise<'wasm' | 'js'>((resolve, reject) => {
      onReady = (m) =>
        m.ready ? resolve(m.ready) : reject(new Error('verify worker did not say ready'))
      onError = reject
      onExit = (code) => reject(new Error(`verify worker exited (${code})`))
      worker.once('message', onReady)
      worker.once('error', onError)
      worker.once('exit', onExit)
    })
    return { worker, engine }
  } catch (err) {
    await worker.terminate()
    throw err
  } finally {
    // Only our own listeners: removing every listener would also stop the worker's message port.
    worker.off('message', onReady)
    worker.off('error', onError)
    worker.off('exit', onExit)
  }
}

/**
 * Starts `threads` verification threads. `fallback` (the in-process verifier) answers when no
 * thread can: at 0 threads, if the threads fail to start, or for batches a dying thread owed.
 */
export async function startVerifyPool(
  threads: number,
  fallback: Verifier,
  onProblem: (msg: string, fields?: Record<string, unknown>) => void = () => {},
): Promise<VerifyPool> {
  const file = workerFile()
  if (threads <= 0) return inProcess(fallback)
  if (!file) {
    onProblem('signature threads unavailable (worker file not found); verifying in-process')
    return inProcess(fallback)
  }
  let started: { worker: Worker; engine: 'wasm' | 'js' }[]
  try {
    started = await Promise.all(Array.from({ length: threads }, () => startThread(file)))
  } catch (err) {
    onProblem('signature threads could not start; verifying in-process', {
      error: (err as Error).message,
    })
    return inProcess(fallback)
  }
  return new ThreadPool(started, fallback, onProblem)
}

class ThreadPool implements VerifyPool {
  readonly engine: 'wasm' | 'js'
  private readonly live: Thread[]
  private queue: Owed[] = []
  private scheduled = false
  private nextBatch = 1
  private closed = false

  constructor(
    started: { worker: Worker; engine: 'wasm' | 'js' }[],
    private readonly fallback: Verifier,
    private readonly onProblem: (msg: string, fields?: Record<string, unknown>) => void,
  ) {
    this.engine = started.every((s) => s.engine === 'wasm') ? 'wasm' : 'js'
    this.live = started.map(({ worker }) => {
      const t: Thread = { worker, owed: new Map(), load: 0 }
      worker.on('message', (m: { batch: number; results: Uint8Array }) => this.answer(t, m))
      worker.on('error', (err) => this.lose(t, err.message))
      worker.on('exit', (code) => this.lose(t, `exited (${code})`))
      worker.unref()
      return t
    })
  }

  get threads(): number {
    return this.live.length
  }

  verify(ev: NostrEvent): boolean | Promise<boolean> {
    if (this.closed || this.live.length === 0) return this.fallback(ev)
    return new Promise<boolean>((resolve) => {
      this.queue.push({ ev, resolve })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.dispatch())
      }
    })
  }

  /** Splits what arrived this turn across the threads, least loaded first. */
  private dispatch(): void {
    this.scheduled = false
    const queue = this.queue
    this.queue = []
    if (this.live.length === 0 || this.closed) {
      for (const o of queue) o.resolve(this.fallback(o.ev))
      return
    }
    const per = Math.min(MAX_BATCH, Math.ceil(queue.length / this.live.length))
    for (let i = 0; i < queue.length; i += per) {
      const chunk = queue.slice(i, i + per)
      const t = this.live.reduce((a, b) => (b.load < a.load ? b : a))
      const batch = this.nextBatch++
      // A thread holds the process open only while it owes answers.
      if (t.owed.size === 0) t.worker.ref()
      t.owed.set(batch, chunk)
      t.load += chunk.length
      t.worker.postMessage({ batch, events: chunk.map((o) => wire(o.ev)) })
    }
  }

  private answer(t: Thread, m: { batch: number; results: Uint8Array }): void {
    const chunk = t.owed.get(m.batch)
    if (!chunk) return
    t.owed.delete(m.batch)
    t.load -= chunk.length
    if (t.owed.size === 0) t.worker.unref()
    for (let i = 0; i < chunk.length; i++) chunk[i]!.resolve(m.results[i] === 1)
  }

  /** A thread died: what it owed is verified in-process, and the pool goes on without it. */
  private lose(t: Thread, why: string): void {
    const i = this.live.indexOf(t)
    if (i < 0) return
    this.live.splice(i, 1)
    if (!this.closed) this.onProblem('a signature thread stopped', { why })
    for (const chunk of t.owed.values()) for (const o of chunk) o.resolve(this.fallback(o.ev))
    t.owed.clear()
    t.load = 0
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const threads = [...this.live]
    await Promise.all(threads.map((t) => t.worker.terminate()))
    for (const t of threads) this.lose(t, 'closed')
    for (const o of this.queue.splice(0)) o.resolve(this.fallback(o.ev))
  }
}
