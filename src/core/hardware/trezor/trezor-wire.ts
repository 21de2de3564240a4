// Trezor's wire protocol (protocol v1, as Trezor Model One ≥ 1.7, Model T, Safe 3/5 speak it over
// WebUSB): a message is `?##`, its 2-byte type, its 4-byte length and its protobuf body, cut into
// 64-byte packets that each start with `?`. The message schema is Trezor's own (@trezor/protobuf's
// messages.json). Below this file is a `TrezorLink` that moves 64-byte packets: USB in the app
// (trezor-usb.ts), the emulator in tests.
//
// Why not @trezor/connect: its Node path is Trezor Bridge (a separate helper program) or its
// NodeUsbTransport on usb 2.x next to our usb 3.x; it fetches firmware and coin data from Trezor's
// servers at start and wants previous transactions from its own backend. Flash Box has every
// previous transaction in the PSBT and talks to the device itself, so it needs only the messages.
import { decodeMessage, encodeMessage, parseConfigure } from '@trezor/protobuf'
import definitions from '@trezor/protobuf/messages.json' with { type: 'json' }
import { FlashError } from '../../errors'

export const PACKET_SIZE = 64
const HEADER = 9

/** Moves whole 64-byte packets to and from one device. */
export interface TrezorLink {
  write(packet: Uint8Array): Promise<void>
  read(): Promise<Uint8Array>
  close(): Promise<void>
}

type Root = ReturnType<typeof parseConfigure>
let root: Root | undefined
export function trezorMessages(): Root {
  root ??= parseConfigure(definitions as Parameters<typeof parseConfigure>[0])
  return root
}

/** A message as packets: `?##` + type + length + body, then `?` + 63 bytes per packet. */
export function encodePackets(messageType: number, body: Uint8Array): Uint8Array[] {
  const whole = new Uint8Array(HEADER + body.length)
  whole.set([0x3f, 0x23, 0x23, messageType >> 8, messageType & 0xff])
  new DataView(whole.buffer).setUint32(5, body.length)
  whole.set(body, HEADER)
  const packets: Uint8Array[] = []
  for (let at = 0; at === 0 || at < whole.length;) {
    const p = new Uint8Array(PACKET_SIZE)
    p[0] = 0x3f
    const take = Math.min(PACKET_SIZE - 1, whole.length - at)
    // The first packet's `?` is the message's own first byte.
    if (at === 0) {
      p.set(whole.subarray(0, PACKET_SIZE))
      at = Math.min(PACKET_SIZE, whole.length)
    } else {
      p.set(whole.subarray(at, at + take), 1)
      at += take
    }
    packets.push(p)
  }
  return packets
}

/** Reads packets until one message is whole; returns its type and body. */
export async function readMessage(
  next: () => Promise<Uint8Array>,
): Promise<{ messageType: number; body: Uint8Array }> {
  const first = await next()
  if (first.length < HEADER || first[0] !== 0x3f || first[1] !== 0x23 || first[2] !== 0x23)
    throw new FlashError(
      'trezor.protocol',
      'The Trezor answered with something that is not a Trezor message.',
      'Unplug the Trezor, plug it in again and retry. If it keeps happening, update its firmware in Trezor Suite.',
    )
  const view = new DataView(first.buffer, first.byteOffset, first.byteLength)
  const messageType = view.getUint16(3)
  const length = view.getUint32(5)
  if (length > 1_000_000)
    throw new FlashError(
      'trezor.protocol',
      'The Trezor announced a message far too long to be real.',
      'Unplug the Trezor, plug it in again and retry.',
    )
  const body = new Uint8Array(length)
  let have = Math.min(length, first.length - HEADER)
  body.set(first.subarray(HEADER, HEADER + have))
  while (have < length) {
    const p = await next()
    if (p[0] !== 0x3f)
      throw new FlashError(
        'trezor.protocol',
        'A packet from the Trezor was cut or out of order.',
        'Unplug the Trezor, plug it in again and retry.',
      )
    const take = Math.min(length - have, p.length - 1)
    body.set(p.subarray(1, 1 + take), have)
    have += take
  }
  return { messageType, body }
}

export type TrezorMessage = { type: string; message: Record<string, unknown> }

export function encodeTrezor(name: string, data: Record<string, unknown>): Uint8Array[] {
  const { messageType, message } = encodeMessage(trezorMessages(), name, data)
  return encodePackets(messageType, message)
}

export function decodeTrezor(messageType: number, body: Uint8Array): TrezorMessage {
  const m = decodeMessage(trezorMessages(), messageType, Buffer.from(body))
  return { type: m.type, message: m.message as Record<string, unknown> }
}

const UNPLUGGED =
  /LIBUSB_ERROR_NO_DEVICE|LIBUSB_ERROR_IO|LIBUSB_TRANSFER_NO_DEVICE|disconnected|unplugged|ENODEV/i

/** Failure codes the user can act on, in plain words. */
function failure(message: Record<string, unknown>): FlashError {
  const code = String(message.code ?? '')
  const text = typeof message.message === 'string' ? message.message : ''
  switch (code) {
    case 'Failure_ActionCancelled':
      return new FlashError(
        'signer.rejected',
        'The action was declined on the Trezor. Nothing was signed.',
        'Try again and confirm on the Trezor’s screen if everything shown there is right.',
      )
    case 'Failure_PinInvalid':
    case 'Failure_PinCancelled':
    case 'Failure_PinExpected':
      return new FlashError(
        'trezor.locked',
        'The Trezor is locked: its PIN was not entered.',
        'Unlock the Trezor with its PIN, then try again.',
      )
    case 'Failure_NotInitialized':
      return new FlashError(
        'trezor.not_initialized',
        'This Trezor has no wallet yet.',
        'Set it up (or restore it) in Trezor Suite first, then plug it in here again.',
      )
    case 'Failure_Busy':
      return new FlashError(
        'device.busy',
        'The Trezor is busy with another program.',
        'Close Trezor Suite (and any other wallet using the Trezor), then try again.',
      )
    default:
      return new FlashError(
        'trezor.failure',
        `The Trezor refused: ${text || code || 'no reason given'}.`,
        'Check the Trezor’s screen. If it asks for something, answer it there and try again.',
      )
  }
}

/**
 * One conversation with a Trezor: sends a message and returns the answer, acknowledging the
 * device's "confirm on screen" requests on the way. A PIN matrix or host passphrase request ends
 * the call with a plain error: Flash Box does not ask for a Trezor PIN or passphrase itself.
 */
export class TrezorClient {
  constructor(private readonly link: TrezorLink) {}

  private async exchange(name: string, data: Record<string, unknown>): Promise<TrezorMessage> {
    try {
      for (const p of encodeTrezor(name, data)) await this.link.write(p)
      const { messageType, body } = await readMessage(() => this.link.read())
      return decodeTrezor(messageType, body)
    } catch (err) {
      if (err instanceof FlashError) throw err
      if (UNPLUGGED.test(String(err)))
        throw new FlashError(
          'device.unplugged',
          'The Trezor was unplugged (or stopped answering) before it finished. Nothing was signed or sent.',
          'Plug it in again, unlock it, and start again.',
          { cause: err },
        )
      throw err
    }
  }

  /** Sends `name` and returns the first answer that is not a button request. */
  async call(name: string, data: Record<string, unknown> = {}): Promise<TrezorMessage> {
    let answer = await this.exchange(name, data)
    for (let i = 0; i < 64; i++) {
      if (answer.type === 'ButtonRequest') {
        answer = await this.exchange('ButtonAck', {})
        continue
      }
      if (answer.type === 'Failure') throw failure(answer.message)
      if (answer.type === 'PinMatrixRequest') {
        await this.exchange('Cancel', {}).catch(() => undefined)
        throw new FlashError(
          'trezor.locked',
          'The Trezor is locked and asks for its PIN on this computer (a Trezor Model One does).',
          'Unlock it in Trezor Suite first (Flash Box does not take the Trezor’s PIN), close Trezor Suite, then try again.',
        )
      }
      if (answer.type === 'PassphraseRequest') {
        await this.exchange('Cancel', {}).catch(() => undefined)
        throw new FlashError(
          'trezor.passphrase',
          'This Trezor uses a passphrase, which Flash Box cannot type for it.',
          'Turn on “enter passphrase on device” in Trezor Suite, or use the Trezor without a passphrase.',
        )
      }
      return answer
    }
    throw new FlashError(
      'trezor.protocol',
      'The Trezor kept asking for confirmations without answering.',
      'Unplug the Trezor, plug it in again and retry.',
    )
  }

  /** Sends `name` and insists on the answer type `expect`. */
  async expect(
    name: string,
    data: Record<string, unknown>,
    expect: string,
  ): Promise<Record<string, unknown>> {
    const answer = await this.call(name, data)
    if (answer.type !== expect)
      throw new FlashError(
        'trezor.protocol',
        `The Trezor answered ${answer.type} where ${expect} was expected.`,
        'Unplug the Trezor, plug it in again and retry.',
      )
    return answer.message
  }

  close(): Promise<void> {
    return this.link.close()
  }
}
