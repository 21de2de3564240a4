// The desktop's NFC reader over PC/SC (pcsc-lite's pcscd on Linux, the system's PC/SC elsewhere)
// through the `smartcard` N-API binding: one card on one reader, as an APDU transport for
// ntag424.ts. The binding is loaded on first use, so a box without PC/SC still starts.
import { FlashError } from '../errors'
import type { Bytes } from './aes-cmac'
import type { ApduTransport } from './ntag424'
import type * as Smartcard from 'smartcard'

type Binding = typeof Smartcard
type PcscContext = Smartcard.ContextInterface
type PcscCard = Smartcard.CardInterface

export interface CardOnReader extends ApduTransport {
  readonly reader: string
  /** Disconnects (leaving the card powered) and releases the PC/SC context. */
  close(): void
}

let binding: Promise<Binding> | undefined

function unavailable(cause: unknown): FlashError {
  return new FlashError(
    'boltcard.pcsc_unavailable',
    'Flash Box cannot reach the computer’s card reader service (PC/SC).',
    'On Linux, install and start pcscd (and the reader’s driver), then plug the NFC reader in again. Or program the card with the Boltcard app on Merchant → Flash Cards.',
    { cause },
  )
}

async function load(): Promise<Binding> {
  binding ??= import('smartcard').catch((err: unknown) => {
    binding = undefined
    throw unavailable(err)
  })
  return binding
}

function openContext(b: Binding): PcscContext {
  try {
    return new b.Context()
  } catch (err) {
    throw unavailable(err)
  }
}

/** The names of the readers PC/SC sees now. */
export async function listReaders(): Promise<string[]> {
  const b = await load()
  const ctx = openContext(b)
  try {
    return ctx.listReaders().map((r) => r.name)
  } finally {
    ctx.close()
  }
}

/**
 * Waits (at most `timeoutMs`) for a card on the reader (the first one, or the one named) and
 * connects to it.
 */
export async function connectCard(
  options: { readonly reader?: string; readonly timeoutMs?: number } = {},
): Promise<CardOnReader> {
  const b = await load()
  const ctx = openContext(b)
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  try {
    for (;;) {
      const readers = ctx.listReaders()
      const reader = options.reader ? readers.find((r) => r.name === options.reader) : readers[0]
      if (!reader) {
        if (Date.now() >= deadline)
          throw new FlashError(
            'boltcard.no_reader',
            options.reader
              ? `The card reader “${options.reader}” is not connected.`
              : 'No NFC card reader is connected.',
            'Plug in a USB NFC reader (PC/SC) and try again.',
          )
      } else if (reader.atr && (reader.state & b.SCARD_STATE_PRESENT) !== 0) {
        const card = await reader.connect(
          b.SCARD_SHARE_EXCLUSIVE,
          b.SCARD_PROTOCOL_T1 | b.SCARD_PROTOCOL_T0,
        )
        return cardOnReader(ctx, reader.name, card)
      } else if (Date.now() >= deadline) {
        throw new FlashError(
          'boltcard.no_card',
          'No card was put on the reader in time.',
          'Put the card flat on the reader and try again.',
        )
      }
      const left = Math.max(1, Math.min(1_000, deadline - Date.now()))
      await ctx.waitForChange(reader ? [reader] : undefined, left).catch(() => null)
    }
  } catch (err) {
    ctx.close()
    if (err instanceof FlashError) throw err
    throw unavailable(err)
  }
}

function cardOnReader(ctx: PcscContext, name: string, card: PcscCard): CardOnReader {
  return {
    reader: name,
    async transmit(apdu: Bytes): Promise<Bytes> {
      try {
        return new Uint8Array(await card.transmit(Buffer.from(apdu), { maxRecvLength: 258 }))
      } catch (err) {
        throw new FlashError(
          'boltcard.card_lost',
          'The card was taken off the reader (or stopped answering).',
          'Put the card back on the reader and start again.',
          { cause: err },
        )
      }
    },
    close() {
      try {
        card.disconnect(0)
      } finally {
        ctx.close()
      }
    },
  }
}
