// The thread that owns the `smartcard` PC/SC binding (pcsc-reader.ts starts it and is its only
// caller). Some of the binding's calls are synchronous (SCardEstablishContext, SCardListReaders,
// SCardDisconnect, SCardReleaseContext): on the engine's own thread a slow or hung pcscd would
// freeze every HTTP route and the owner's UI with it. Here they block only this thread, and the
// engine side bounds every call with a timeout.
//
// Node runs this file as it is (type stripping) or bundled (out/main/pcsc-worker.js), so it
// imports nothing of the project's own: only types and packages.
import { parentPort } from 'node:worker_threads'
import type * as Smartcard from 'smartcard'

/** Every call the engine can make, with what it sends and what it gets back. */
export interface PcscCalls {
  listReaders: { args: Record<string, never>; result: string[] }
  /** Waits (at most `timeoutMs`) for a card on the reader (the first, or the one named). */
  connect: {
    args: { reader?: string; timeoutMs: number }
    result: { card: number; reader: string }
  }
  transmit: { args: { card: number; apdu: Uint8Array }; result: Uint8Array }
  /** Disconnects (leaving the card powered) and releases the card's PC/SC context. */
  close: { args: { card: number }; result: null }
}
export type PcscOp = keyof PcscCalls

export type PcscRequest = {
  [K in PcscOp]: { id: number; op: K; args: PcscCalls[K]['args'] }
}[PcscOp]

/** Why a call failed, in the engine's words (pcsc-reader.ts turns it into a FlashError). */
export type PcscFailure = 'unavailable' | 'no_reader' | 'no_card' | 'card_lost'

export type PcscReply =
  | { id: number; ok: true; result: PcscCalls[PcscOp]['result'] }
  | { id: number; ok: false; failure: PcscFailure; detail: string }

// No parameter properties: Node's type stripping runs only erasable TypeScript.
class Failure extends Error {
  readonly failure: PcscFailure
  constructor(failure: PcscFailure, detail: string) {
    super(detail)
    this.failure = failure
  }
}

type Binding = typeof Smartcard
let binding: Promise<Binding> | undefined
const cards = new Map<number, { ctx: Smartcard.ContextInterface; card: Smartcard.CardInterface }>()
let nextCard = 1

function load(): Promise<Binding> {
  binding ??= import('smartcard').catch((err: unknown) => {
    binding = undefined
    throw new Failure('unavailable', `the PC/SC binding did not load: ${String(err)}`)
  })
  return binding
}

function openContext(b: Binding): Smartcard.ContextInterface {
  try {
    return new b.Context()
  } catch (err) {
    throw new Failure('unavailable', `no PC/SC context: ${String(err)}`)
  }
}

async function listReaders(): Promise<string[]> {
  const ctx = openContext(await load())
  try {
    return ctx.listReaders().map((r) => r.name)
  } finally {
    ctx.close()
  }
}

async function connect(
  args: PcscCalls['connect']['args'],
): Promise<PcscCalls['connect']['result']> {
  const b = await load()
  const ctx = openContext(b)
  const deadline = Date.now() + args.timeoutMs
  try {
    for (;;) {
      const readers = ctx.listReaders()
      const reader = args.reader ? readers.find((r) => r.name === args.reader) : readers[0]
      if (!reader) {
        if (Date.now() >= deadline) throw new Failure('no_reader', args.reader ?? '')
      } else if (reader.atr && (reader.state & b.SCARD_STATE_PRESENT) !== 0) {
        const card = await reader.connect(
          b.SCARD_SHARE_EXCLUSIVE,
          b.SCARD_PROTOCOL_T1 | b.SCARD_PROTOCOL_T0,
        )
        const id = nextCard++
        cards.set(id, { ctx, card })
        return { card: id, reader: reader.name }
      } else if (Date.now() >= deadline) {
        throw new Failure('no_card', reader.name)
      }
      const left = Math.max(1, Math.min(1_000, deadline - Date.now()))
      await ctx.waitForChange(reader ? [reader] : undefined, left).catch(() => null)
    }
  } catch (err) {
    ctx.close()
    if (err instanceof Failure) throw err
    throw new Failure('unavailable', String(err))
  }
}

async function transmit(args: PcscCalls['transmit']['args']): Promise<Uint8Array> {
  const open = cards.get(args.card)
  if (!open) throw new Failure('card_lost', 'the card was closed')
  try {
    const answer = await open.card.transmit(Buffer.from(args.apdu), { maxRecvLength: 258 })
    return new Uint8Array(answer)
  } catch (err) {
    throw new Failure('card_lost', String(err))
  }
}

function close(args: PcscCalls['close']['args']): null {
  const open = cards.get(args.card)
  if (!open) return null
  cards.delete(args.card)
  try {
    open.card.disconnect(0)
  } catch {
    // The card is gone already; the context is released all the same.
  } finally {
    open.ctx.close()
  }
  return null
}

async function answer(req: PcscRequest): Promise<PcscCalls[PcscOp]['result']> {
  switch (req.op) {
    case 'listReaders':
      return listReaders()
    case 'connect':
      return connect(req.args)
    case 'transmit':
      return transmit(req.args)
    case 'close':
      return close(req.args)
  }
}

const port = parentPort
if (port) {
  port.on('message', (req: PcscRequest) => {
    answer(req).then(
      (result) => port.postMessage({ id: req.id, ok: true, result } satisfies PcscReply),
      (err: unknown) =>
        port.postMessage({
          id: req.id,
          ok: false,
          failure: err instanceof Failure ? err.failure : 'unavailable',
          detail: err instanceof Error ? err.message : String(err),
        } satisfies PcscReply),
    )
  })
}
