// The desktop's NFC reader over PC/SC (pcsc-lite's pcscd on Linux, the system's PC/SC elsewhere)
// through the `smartcard` N-API binding: one card on one reader, as an APDU transport for
// ntag424.ts.
//
// The binding lives in a thread of its own (pcsc-worker.ts), started on first use, so a box
// without PC/SC still starts, and its synchronous calls never block the engine's event loop (the
// owner's UI and every HTTP route run there). Every call here is bounded by a timeout: a reader
// or pcscd that stops answering is a FlashError at once. The thread itself is left to finish its
// native call (terminating a thread inside one aborts the whole process): later calls queue behind
// it, each bounded the same way, and answer again as soon as pcscd does.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { FlashError } from '../errors'
import type { Bytes } from './aes-cmac'
import type { ApduTransport } from './ntag424'
import type { PcscCalls, PcscFailure, PcscOp, PcscReply, PcscRequest } from './pcsc-worker'

export interface CardOnReader extends ApduTransport {
  readonly reader: string
  /** Disconnects (leaving the card powered) and releases the PC/SC context. */
  close(): void
}

/** How long a call may take beyond its own wait before the reader counts as hung. */
export const PCSC_CALL_TIMEOUT_MS = 5_000

function unavailable(detail?: string): FlashError {
  return new FlashError(
    'boltcard.pcsc_unavailable',
    'Flash Box cannot reach the computer’s card reader service (PC/SC).',
    'On Linux, install and start pcscd (and the reader’s driver), then plug the NFC reader in again. Or program the card with the Boltcard app on Merchant → Flash Cards.',
    detail ? { cause: new Error(detail) } : undefined,
  )
}

function notAnswering(op: PcscOp): FlashError {
  return new FlashError(
    'boltcard.reader_not_answering',
    'The card reader stopped answering.',
    'Take the card off the reader, unplug the NFC reader and plug it in again, then try again on Merchant → Flash Cards.',
    { cause: new Error(`PC/SC ${op} did not answer in time`) },
  )
}

function failure(f: PcscFailure, detail: string): FlashError {
  switch (f) {
    case 'no_reader':
      return new FlashError(
        'boltcard.no_reader',
        detail
          ? `The card reader “${detail}” is not connected.`
          : 'No NFC card reader is connected.',
        'Plug in a USB NFC reader (PC/SC) and try again.',
      )
    case 'no_card':
      return new FlashError(
        'boltcard.no_card',
        'No card was put on the reader in time.',
        'Put the card flat on the reader and try again.',
      )
    case 'card_lost':
      return new FlashError(
        'boltcard.card_lost',
        'The card was taken off the reader (or stopped answering).',
        'Put the card back on the reader and start again.',
        { cause: new Error(detail) },
      )
    case 'unavailable':
      return unavailable(detail)
  }
}

/** The worker as bundled (out/main) or as source (Node strips its types). */
function workerFile(): string {
  const here = import.meta.dirname
  for (const f of [
    join(here, 'pcsc-worker.js'),
    join(here, '..', 'pcsc-worker.js'),
    join(here, 'pcsc-worker.ts'),
  ])
    if (existsSync(f)) return f
  throw unavailable('pcsc-worker not found beside ' + here)
}

interface Pending {
  resolve(v: unknown): void
  reject(e: Error): void
  timer: NodeJS.Timeout
}

/** The one PC/SC thread of this process. */
class PcscThread {
  private worker: Worker | undefined
  /** Bumped on every new thread (after one ended): card handles of an older one are gone. */
  generation = 0
  private readonly pending = new Map<number, Pending>()
  /** Calls that timed out and are still inside the thread. */
  private readonly overdue = new Set<number>()
  private nextId = 1

  private start(): Worker {
    if (this.worker) return this.worker
    const w = new Worker(workerFile())
    this.generation += 1
    w.on('message', (reply: PcscReply) => {
      if (this.overdue.delete(reply.id)) return // answered after its timeout
      const p = this.pending.get(reply.id)
      if (!p) return
      this.settle(reply.id)
      if (reply.ok) p.resolve(reply.result)
      else p.reject(failure(reply.failure, reply.detail))
    })
    const lost = (detail: string) => {
      if (this.worker !== w) return
      this.worker = undefined
      this.overdue.clear()
      this.failAll(() => unavailable(detail))
    }
    w.on('error', (err) => lost(String(err)))
    w.on('exit', (code) => lost(`the PC/SC thread ended (${code})`))
    w.unref()
    this.worker = w
    return w
  }

  private settle(id: number) {
    const p = this.pending.get(id)
    if (!p) return
    clearTimeout(p.timer)
    this.pending.delete(id)
    if (this.pending.size === 0) this.worker?.unref()
  }

  private failAll(err: () => FlashError) {
    for (const [id, p] of [...this.pending]) {
      this.settle(id)
      p.reject(err())
    }
  }

  /** Ends the thread once it is idle (tests, shutdown); the next call starts a new one. */
  async stop(): Promise<void> {
    const w = this.worker
    if (!w) return
    // A call past its timeout may still be inside pcsc-lite: wait for it (bounded) first.
    await this.call('listReaders', {}, PCSC_CALL_TIMEOUT_MS).catch(() => undefined)
    // Still stuck: leave it (unreferenced) rather than abort the process.
    if (this.pending.size > 0 || this.overdue.size > 0 || this.worker !== w) return
    this.worker = undefined
    await w.terminate()
  }

  call<K extends PcscOp>(
    op: K,
    args: PcscCalls[K]['args'],
    timeoutMs: number,
  ): Promise<PcscCalls[K]['result']> {
    let w: Worker
    try {
      w = this.start()
    } catch (err) {
      return Promise.reject(err instanceof FlashError ? err : unavailable(String(err)))
    }
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id)
        this.overdue.add(id)
        reject(notAnswering(op))
      }, timeoutMs)
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      w.ref()
      w.postMessage({ id, op, args } as PcscRequest)
    })
  }
}

const thread = new PcscThread()

/** Ends the PC/SC thread (tests, shutdown); the next call starts a new one. */
export async function stopPcsc(): Promise<void> {
  await thread.stop()
}

/** The names of the readers PC/SC sees now. */
export async function listReaders(): Promise<string[]> {
  return thread.call('listReaders', {}, PCSC_CALL_TIMEOUT_MS)
}

/**
 * Waits (at most `timeoutMs`) for a card on the reader (the first one, or the one named) and
 * connects to it.
 */
export async function connectCard(
  options: { readonly reader?: string; readonly timeoutMs?: number } = {},
): Promise<CardOnReader> {
  const timeoutMs = options.timeoutMs ?? 15_000
  const { card, reader } = await thread.call(
    'connect',
    { ...(options.reader ? { reader: options.reader } : {}), timeoutMs },
    timeoutMs + PCSC_CALL_TIMEOUT_MS,
  )
  const generation = thread.generation
  const lost = () => failure('card_lost', 'the PC/SC thread ended')
  let closed = false
  return {
    reader,
    async transmit(apdu: Bytes): Promise<Bytes> {
      if (closed || thread.generation !== generation) throw lost()
      return thread.call('transmit', { card, apdu }, PCSC_CALL_TIMEOUT_MS)
    },
    close() {
      if (closed) return
      closed = true
      if (thread.generation !== generation) return
      // Callers close in `finally` without waiting; the thread handles it before any later call.
      thread.call('close', { card }, PCSC_CALL_TIMEOUT_MS).catch(() => undefined)
    },
  }
}
