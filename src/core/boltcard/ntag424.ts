// The reader's side of NTAG 424 DNA's command set (NT4H2421Gx §10), over any APDU transport
// (PC/SC in pcsc-reader.ts; the card emulator in tests). Native commands are wrapped in ISO 7816-4
// APDUs (CLA 90, status 91 xx); inside an authenticated session every command is protected as
// its CommMode says (ntag424-secure-messaging.ts) and advances the command counter.
import { randomBytes } from 'node:crypto'
import { FlashError } from '../errors'
import { concat, type Bytes } from './aes-cmac'
import {
  authFinish,
  authPart2,
  changeKeyData,
  openResponse,
  protectCommand,
  ResponseMacError,
  type CommMode,
  type Session,
} from './ntag424-secure-messaging'

export interface ApduTransport {
  /** Sends one command APDU; resolves with the response data followed by SW1 SW2. */
  transmit(apdu: Bytes): Promise<Bytes>
}

/** The NDEF application (ISO/IEC 7816-4 DF name of NFC Forum Type 4 tags). */
export const NDEF_APPLICATION = Uint8Array.of(0xd2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01)
export const FILE_CC = 1
export const FILE_NDEF = 2
/** The factory value of all five application keys. */
export const FACTORY_KEY = new Uint8Array(16)

export const INS = {
  authenticateEV2First: 0x71,
  additionalFrame: 0xaf,
  changeKey: 0xc4,
  changeFileSettings: 0x5f,
  getFileSettings: 0xf5,
  getCardUid: 0x51,
  readData: 0xad,
  writeData: 0x8d,
} as const

/** Native status codes (SW2 after 91) in plain words (NT4H2421Gx Table 23). */
const STATUS_WORDS: Record<number, string> = {
  0x1e: 'the card found the message corrupted (integrity error)',
  0x40: 'the card has no such key',
  0x7e: 'the card refused the command length',
  0x9d: 'the card refused: permission denied',
  0x9e: 'the card refused a parameter',
  0xad: 'the card is temporarily locked after failed authentications',
  0xae: 'the key was not accepted (authentication error)',
  0xbe: 'the data does not fit the file',
  0xca: 'the card aborted the command',
  0xee: 'the card could not write its memory',
  0xf0: 'the card has no such file',
}

export class CardStatusError extends FlashError {
  constructor(
    readonly sw1: number,
    readonly sw2: number,
    what: string,
  ) {
    const words =
      sw1 === 0x91
        ? (STATUS_WORDS[sw2] ?? `the card answered 91 ${sw2.toString(16)}`)
        : `the card answered ${sw1.toString(16)} ${sw2.toString(16)}`
    super(
      sw1 === 0x91 && sw2 === 0xae ? 'boltcard.wrong_key' : 'boltcard.card_refused',
      `${what}: ${words}.`,
      sw1 === 0x91 && sw2 === 0xae
        ? 'This card has other keys than Flash Box expects. If it was programmed elsewhere, reset it there first.'
        : 'Hold the card still on the reader and try again.',
    )
  }
}

const le24 = (n: number): Bytes => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff)

/** A native command APDU: 90 INS 00 00 [Lc body] 00. */
export function nativeApdu(ins: number, body: Bytes): Bytes {
  if (body.length > 255) throw new RangeError('command too long for a short APDU')
  return body.length === 0
    ? Uint8Array.of(0x90, ins, 0x00, 0x00, 0x00)
    : concat(Uint8Array.of(0x90, ins, 0x00, 0x00, body.length), body, Uint8Array.of(0x00))
}

export class Ntag424 {
  private session: Session | undefined

  constructor(
    private readonly transport: ApduTransport,
    private readonly random: (n: number) => Bytes = (n) => new Uint8Array(randomBytes(n)),
  ) {}

  get authenticated(): boolean {
    return this.session !== undefined
  }

  private async send(apdu: Bytes, what: string, ok: number[] = [0x00]): Promise<Bytes> {
    const r = await this.transport.transmit(apdu)
    if (r.length < 2) throw new CardStatusError(0, 0, what)
    const sw1 = r[r.length - 2]!
    const sw2 = r[r.length - 1]!
    const data = r.subarray(0, r.length - 2)
    if ((sw1 === 0x91 && ok.includes(sw2)) || (sw1 === 0x90 && sw2 === 0x00)) return data
    // Any error ends the session on the card (NT4H2421Gx §9.1.1).
    this.session = undefined
    throw new CardStatusError(sw1, sw2, what)
  }

  /** ISOSelectFile of the NDEF application by its DF name. */
  async selectApplication(): Promise<void> {
    await this.send(
      concat(
        Uint8Array.of(0x00, 0xa4, 0x04, 0x0c, NDEF_APPLICATION.length),
        NDEF_APPLICATION,
        Uint8Array.of(0x00),
      ),
      'Selecting the card’s NDEF application',
    )
    this.session = undefined
  }

  /** AuthenticateEV2First with key `keyNo` (§10.4.1). */
  async authenticateEV2First(keyNo: number, key: Bytes): Promise<void> {
    this.session = undefined
    const encRndB = await this.send(
      nativeApdu(INS.authenticateEV2First, Uint8Array.of(keyNo, 0x00)),
      'Starting authentication',
      [0xaf],
    )
    if (encRndB.length !== 16) throw new CardStatusError(0x91, 0x7e, 'Starting authentication')
    const rndA = this.random(16)
    const { part2, rndB } = authPart2(key, encRndB, rndA)
    const answer = await this.send(nativeApdu(INS.additionalFrame, part2), 'Authenticating')
    const session = authFinish(key, keyNo, rndA, rndB, answer)
    if (!session)
      throw new FlashError(
        'boltcard.not_genuine',
        'The card answered without proving it holds the key.',
        'This may not be a genuine NTAG 424 DNA card. Try another card.',
      )
    this.session = session
  }

  private requireSession(what: string): Session {
    if (!this.session)
      throw new FlashError(
        'boltcard.not_authenticated',
        `${what} needs an authenticated session with the card.`,
        'Hold the card on the reader and start again.',
      )
    return this.session
  }

  /** One command inside the session, protected as `mode` says; returns the opened answer. */
  private async inSession(
    ins: number,
    header: Bytes,
    data: Bytes,
    mode: CommMode,
    responseMode: CommMode,
    what: string,
  ): Promise<Bytes> {
    const s = this.requireSession(what)
    const body = protectCommand(s, ins, header, data, mode)
    const answer = await this.send(nativeApdu(ins, body), what)
    try {
      return openResponse(s, answer, responseMode)
    } catch (err) {
      if (!(err instanceof ResponseMacError)) throw err
      this.session = undefined
      throw new FlashError(
        'boltcard.bad_answer',
        `${what}: the card’s answer did not carry the right MAC.`,
        'Hold the card still on the reader and try again; if it keeps happening, try another card.',
      )
    }
  }

  /** GetCardUID (CommMode.Full): the real 7-byte UID even with random ID on. */
  async getCardUid(): Promise<Bytes> {
    const uid = await this.inSession(
      INS.getCardUid,
      new Uint8Array(0),
      new Uint8Array(0),
      'mac',
      'full',
      'Reading the card’s UID',
    )
    if (uid.length !== 7) throw new CardStatusError(0x91, 0x7e, 'Reading the card’s UID')
    return uid
  }

  /** WriteData to a standard file; inside a session or not (then CommMode.Plain and free write). */
  async writeData(fileNo: number, offset: number, data: Bytes, mode: CommMode): Promise<void> {
    const header = concat(Uint8Array.of(fileNo), le24(offset), le24(data.length))
    const what = 'Writing the card’s file'
    if (!this.session) {
      await this.send(nativeApdu(INS.writeData, concat(header, data)), what)
      return
    }
    await this.inSession(
      INS.writeData,
      header,
      data,
      mode,
      mode === 'plain' ? 'plain' : 'mac',
      what,
    )
  }

  /** ReadData from a standard file; outside a session the file's read access must be free. */
  async readData(
    fileNo: number,
    offset: number,
    length: number,
    mode: CommMode = 'plain',
  ): Promise<Bytes> {
    const header = concat(Uint8Array.of(fileNo), le24(offset), le24(length))
    if (!this.session) return this.send(nativeApdu(INS.readData, header), 'Reading the card’s file')
    return this.inSession(
      INS.readData,
      header,
      new Uint8Array(0),
      mode === 'full' ? 'mac' : mode,
      mode,
      'Reading the card’s file',
    )
  }

  /** GetFileSettings: plain outside a session, CommMode.MAC inside. */
  async getFileSettings(fileNo: number): Promise<Bytes> {
    const header = Uint8Array.of(fileNo)
    if (!this.session)
      return this.send(nativeApdu(INS.getFileSettings, header), 'Reading the file settings')
    return this.inSession(
      INS.getFileSettings,
      header,
      new Uint8Array(0),
      'mac',
      'mac',
      'Reading the file settings',
    )
  }

  /** ChangeFileSettings (CommMode.Full): `settings` is FileOption ‖ AccessRights ‖ SDM fields. */
  async changeFileSettings(fileNo: number, settings: Bytes): Promise<void> {
    await this.inSession(
      INS.changeFileSettings,
      Uint8Array.of(fileNo),
      settings,
      'full',
      'mac',
      'Changing the file settings',
    )
  }

  /**
   * ChangeKey (CommMode.Full). Changing the key the session was opened with ends the session
   * (the card answers without a MAC).
   */
  async changeKey(keyNo: number, newKey: Bytes, oldKey: Bytes, keyVersion: number): Promise<void> {
    const s = this.requireSession('Changing a key')
    const data = changeKeyData(s.keyNo, keyNo, newKey, oldKey, keyVersion)
    const what = `Changing key ${keyNo}`
    if (keyNo === s.keyNo) {
      const body = protectCommand(s, INS.changeKey, Uint8Array.of(keyNo), data, 'full')
      await this.send(nativeApdu(INS.changeKey, body), what)
      this.session = undefined
      return
    }
    await this.inSession(INS.changeKey, Uint8Array.of(keyNo), data, 'full', 'mac', what)
  }
}
