// SIMULATOR — an NTAG 424 DNA card (NT4H2421Gx) that speaks its APDUs, for tests without a card.
//
// Speaks: ISOSelectFile (application by DF name, files E103/E104 by ID), ISOReadBinary, and the
// native commands AuthenticateEV2First (+ additional frame), GetCardUID, ReadData, WriteData,
// GetFileSettings, ChangeFileSettings, ChangeKey, with CommMode Plain/MAC/Full per file and
// command as the datasheet says, the command counter, and SUN/SDM mirroring (encrypted PICCData
// and SDMMAC written into the NDEF file on every unauthenticated read, SDMReadCtr + 1 each time).
//
// Connects to vsmartcard's vpcd (the virtual reader driver of pcsc-lite's pcscd) as its virtual
// card (vpicc): TCP, each message a 2-byte big-endian length then the payload; a 1-byte payload is
// a control (0 power off, 1 power on, 2 reset, 4 get ATR — answered with the ATR), anything
// longer is a command APDU answered with the response APDU.
//
// Not modelled: LRP mode, AuthenticateEV2NonFirst, originality signature (Read_Sig), random ID,
// SDMENCFileData, TagTamper, the failed-authentication delay, the proprietary file's own rules.
// The crypto is the box's own (src/core/boltcard), itself pinned to NXP AN12196's tables.
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  concat,
  equalBytes,
  hex,
  type Bytes,
} from '../../src/core/boltcard/aes-cmac'
import {
  commandMac,
  crc32nk,
  decryptCommandData,
  encryptResponseData,
  responseMac,
  rotateLeft,
  sessionKeys,
  type Session,
} from '../../src/core/boltcard/ntag424-secure-messaging'
import { sdmMac } from '../../src/core/boltcard/sun-message'

/** ATR of an ISO 14443-4 card behind a PC/SC contactless reader (PC/SC part 3, no historical bytes). */
export const NTAG424_ATR = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01)
const NDEF_AID = 'd2760000850101'

interface SdmSettings {
  readonly options: number
  readonly metaRead: number
  readonly fileRead: number
  readonly ctrRet: number
  readonly piccOffset?: number
  readonly macInputOffset?: number
  readonly macOffset?: number
}

interface FileState {
  readonly isoId: number
  data: Uint8Array
  /** FileOption bits 1..0: 0 plain, 1 MAC, 3 full. */
  commMode: number
  read: number
  write: number
  readWrite: number
  change: number
  sdm?: SdmSettings
  sdmReadCtr: number
}

const OK = Uint8Array.of(0x91, 0x00)
const sw = (b: number) => Uint8Array.of(0x91, b)
const ERR = {
  length: sw(0x7e),
  parameter: sw(0x9e),
  permission: sw(0x9d),
  authentication: sw(0xae),
  integrity: sw(0x1e),
  noSuchKey: sw(0x40),
  fileNotFound: sw(0xf0),
  boundary: sw(0xbe),
  illegalCommand: sw(0x1c),
}
const le24 = (b: Bytes, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)

export interface Ntag424EmulatorOptions {
  /** 7-byte UID; random (04 ‖ 6 random bytes) by default. */
  readonly uid?: Bytes
  readonly log?: (line: string) => void
}

export class Ntag424Emulator {
  readonly uid: Bytes
  readonly keys: Bytes[] = Array.from({ length: 5 }, () => new Uint8Array(16))
  readonly keyVersions: number[] = [0, 0, 0, 0, 0]
  readonly files = new Map<number, FileState>()
  private session: Session | undefined
  private pendingAuth: { keyNo: number; rndB: Bytes } | undefined
  private appSelected = false
  private isoFile: FileState | undefined
  private socket: Socket | undefined
  private readonly log: (line: string) => void
  /** Every command APDU received, hex (tests read it to see what the reader sent). */
  readonly received: string[] = []

  constructor(options: Ntag424EmulatorOptions = {}) {
    this.uid = options.uid ?? concat(Uint8Array.of(0x04), new Uint8Array(randomBytes(6)))
    this.log = options.log ?? (() => {})
    // Factory state (NT4H2421Gx §8.2.3): CC file, NDEF file, proprietary file.
    const cc = new Uint8Array(32)
    cc.set([
      0x00, 0x17, 0x20, 0x00, 0x7f, 0x00, 0x7f, 0x04, 0x06, 0xe1, 0x04, 0x01, 0x00, 0x00, 0x00,
    ])
    this.files.set(1, {
      isoId: 0xe103,
      data: cc,
      commMode: 0,
      read: 0xe,
      write: 0x0,
      readWrite: 0x0,
      change: 0x0,
      sdmReadCtr: 0,
    })
    this.files.set(2, {
      isoId: 0xe104,
      data: new Uint8Array(256),
      commMode: 0,
      read: 0xe,
      write: 0xe,
      readWrite: 0xe,
      change: 0x0,
      sdmReadCtr: 0,
    })
    this.files.set(3, {
      isoId: 0xe105,
      data: new Uint8Array(128),
      commMode: 3,
      read: 0x2,
      write: 0x3,
      readWrite: 0x3,
      change: 0x0,
      sdmReadCtr: 0,
    })
  }

  /** True while all five keys are the factory zeros. */
  get isFactory(): boolean {
    return this.keys.every((k) => k.every((b) => b === 0))
  }

  // --- vpcd --------------------------------------------------------------------------------

  /** Puts the card on vpcd's virtual reader (vpcd listens on `port`); resolves once connected. */
  async insert(port: number, host = '127.0.0.1'): Promise<void> {
    if (this.socket) return
    const socket = connect({ port, host })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.setNoDelay(true)
    this.socket = socket
    let buffered: Bytes = new Uint8Array(0)
    socket.on('data', (chunk: Buffer) => {
      buffered = concat(buffered, new Uint8Array(chunk))
      while (buffered.length >= 2) {
        const n = (buffered[0]! << 8) | buffered[1]!
        if (buffered.length < 2 + n) break
        const msg = buffered.slice(2, 2 + n)
        buffered = buffered.slice(2 + n)
        const reply = this.onVpcdMessage(msg)
        if (reply)
          socket.write(concat(Uint8Array.of(reply.length >>> 8, reply.length & 0xff), reply))
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined
    })
  }

  /** Takes the card off the reader. */
  async remove(): Promise<void> {
    const s = this.socket
    if (!s) return
    this.socket = undefined
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve())
      s.end()
      setTimeout(() => {
        s.destroy()
        resolve()
      }, 1_000).unref()
    })
    this.powerOff()
  }

  private onVpcdMessage(msg: Bytes): Bytes | undefined {
    if (msg.length === 1) {
      switch (msg[0]) {
        case 0x00:
        case 0x02:
          this.powerOff()
          return undefined
        case 0x01:
          return undefined
        case 0x04:
          return NTAG424_ATR
        default:
          return undefined
      }
    }
    return this.transmit(msg)
  }

  private powerOff(): void {
    this.session = undefined
    this.pendingAuth = undefined
    this.appSelected = false
    this.isoFile = undefined
  }

  // --- APDUs -------------------------------------------------------------------------------

  /** Answers one command APDU (also callable directly, without vpcd). */
  transmit(apdu: Bytes): Bytes {
    this.received.push(hex(apdu))
    const reply = this.dispatch(apdu)
    this.log(`SIMULATOR ntag424 ${hex(apdu)} → ${hex(reply)}`)
    return reply
  }

  private dispatch(apdu: Bytes): Bytes {
    if (apdu.length < 4) return Uint8Array.of(0x67, 0x00)
    const [cla, ins, p1, p2] = apdu
    if (cla === 0x00 && ins === 0xa4) return this.isoSelect(p1!, p2!, apdu)
    if (cla === 0x00 && ins === 0xb0) return this.isoReadBinary(p1!, p2!, apdu)
    if (cla !== 0x90) return Uint8Array.of(0x6e, 0x00)
    if (!this.appSelected) return ERR.illegalCommand
    const lc = apdu.length > 5 ? apdu[4]! : 0
    if (apdu.length !== (lc > 0 ? 5 + lc + 1 : 5)) return ERR.length
    const body = apdu.subarray(5, 5 + lc)
    if (ins !== 0xaf) this.pendingAuth = ins === 0x71 ? this.pendingAuth : undefined
    const fail = (e: Bytes) => {
      // Any error ends the authenticated state (NT4H2421Gx §9.1.1).
      this.session = undefined
      return e
    }
    switch (ins) {
      case 0x71:
        return this.authPart1(body, fail)
      case 0xaf:
        return this.authPart2(body, fail)
      case 0x51:
        return this.getCardUid(body, fail)
      case 0x8d:
        return this.writeData(body, fail)
      case 0xad:
        return this.readData(body, fail)
      case 0xf5:
        return this.getFileSettings(body, fail)
      case 0x5f:
        return this.changeFileSettings(body, fail)
      case 0xc4:
        return this.changeKey(body, fail)
      default:
        return fail(ERR.illegalCommand)
    }
  }

  private isoSelect(p1: number, p2: number, apdu: Bytes): Bytes {
    const lc = apdu[4] ?? 0
    const data = apdu.subarray(5, 5 + lc)
    if (p1 === 0x04 && hex(data) === NDEF_AID) {
      this.powerOff()
      this.appSelected = true
      return Uint8Array.of(0x90, 0x00)
    }
    if (p1 === 0x00 && this.appSelected && data.length === 2) {
      const id = (data[0]! << 8) | data[1]!
      const f = [...this.files.values()].find((x) => x.isoId === id)
      if (!f) return Uint8Array.of(0x6a, 0x82)
      this.isoFile = f
      return Uint8Array.of(0x90, 0x00)
    }
    void p2
    return Uint8Array.of(0x6a, 0x82)
  }

  private isoReadBinary(p1: number, p2: number, apdu: Bytes): Bytes {
    const f = this.isoFile
    if (!f) return Uint8Array.of(0x69, 0x86)
    if (f.read !== 0xe || f.commMode !== 0) return Uint8Array.of(0x69, 0x82)
    const offset = ((p1 & 0x7f) << 8) | p2
    const le = apdu.length > 4 ? apdu[4]! || 256 : 256
    if (offset >= f.data.length) return Uint8Array.of(0x6b, 0x00)
    const view = this.readView(f)
    return concat(
      view.subarray(offset, Math.min(view.length, offset + le)),
      Uint8Array.of(0x90, 0x00),
    )
  }

  /** The file as an unauthenticated reader sees it: with SUN mirroring when SDM is on. */
  private readView(f: FileState): Bytes {
    const sdm = f.sdm
    if (!sdm) return f.data
    f.sdmReadCtr = (f.sdmReadCtr + 1) & 0xffffff
    const view = Uint8Array.from(f.data)
    const ctr = Uint8Array.of(
      f.sdmReadCtr & 0xff,
      (f.sdmReadCtr >>> 8) & 0xff,
      (f.sdmReadCtr >>> 16) & 0xff,
    )
    const ascii = (b: Bytes) => new TextEncoder().encode(hex(b).toUpperCase())
    if (sdm.piccOffset !== undefined && sdm.metaRead <= 4) {
      const plain = concat(Uint8Array.of(0xc7), this.uid, ctr, new Uint8Array(randomBytes(5)))
      view.set(ascii(aesCbcEncrypt(this.keys[sdm.metaRead]!, plain)), sdm.piccOffset)
    }
    if (sdm.macOffset !== undefined && sdm.fileRead <= 4) {
      // The MAC input is the file as mirrored, from SDMMACInputOffset up to the MAC.
      const input = view.subarray(sdm.macInputOffset ?? sdm.macOffset, sdm.macOffset)
      const mac = sdmMac(
        this.keys[sdm.fileRead]!,
        { uid: this.uid, counterBytes: ctr, counter: f.sdmReadCtr },
        input,
      )
      view.set(ascii(mac), sdm.macOffset)
    }
    return view
  }

  // --- AuthenticateEV2First ---------------------------------------------------------------

  private authPart1(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    this.session = undefined
    if (body.length < 2) return fail(ERR.length)
    const keyNo = body[0]!
    if (keyNo > 4) return fail(ERR.noSuchKey)
    const rndB = new Uint8Array(randomBytes(16))
    this.pendingAuth = { keyNo, rndB }
    return concat(aesCbcEncrypt(this.keys[keyNo]!, rndB), Uint8Array.of(0x91, 0xaf))
  }

  private authPart2(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    const pending = this.pendingAuth
    this.pendingAuth = undefined
    if (!pending) return fail(ERR.illegalCommand)
    if (body.length !== 32) return fail(ERR.length)
    const key = this.keys[pending.keyNo]!
    const plain = aesCbcDecrypt(key, body)
    const rndA = plain.slice(0, 16)
    if (!equalBytes(plain.subarray(16), rotateLeft(pending.rndB))) return fail(ERR.authentication)
    const ti = new Uint8Array(randomBytes(4))
    this.session = { keyNo: pending.keyNo, ti, cmdCtr: 0, ...sessionKeys(key, rndA, pending.rndB) }
    const answer = concat(ti, rotateLeft(rndA), new Uint8Array(12))
    return concat(aesCbcEncrypt(key, answer), OK)
  }

  // --- secure messaging, card side ---------------------------------------------------------

  /**
   * Opens a command in the session: checks MACt (MAC, Full) and decrypts the data (Full).
   * Undefined (and the session gone) when the MAC is wrong.
   */
  private openCommand(
    ins: number,
    body: Bytes,
    headerLength: number,
    mode: number,
  ): { header: Bytes; data: Bytes } | undefined {
    const s = this.session
    if (!s) return undefined
    const header = body.subarray(0, headerLength)
    if (mode === 0) return { header, data: body.subarray(headerLength) }
    if (body.length < headerLength + 8) return undefined
    const payload = body.subarray(headerLength, body.length - 8)
    const mac = body.subarray(body.length - 8)
    if (!equalBytes(mac, commandMac(s, ins, s.cmdCtr, header, payload))) return undefined
    if (mode !== 3 || payload.length === 0) return { header, data: payload }
    const data = decryptCommandData(s, s.cmdCtr, payload)
    return data ? { header, data } : undefined
  }

  /** Answers in the session: CmdCtr + 1, data encrypted (Full) and MACt (MAC, Full). */
  private answer(mode: number, data: Bytes = new Uint8Array(0)): Bytes {
    const s = this.session!
    s.cmdCtr += 1
    if (mode === 0) return concat(data, OK)
    const payload = mode === 3 && data.length > 0 ? encryptResponseData(s, s.cmdCtr, data) : data
    return concat(payload, responseMac(s, 0x00, s.cmdCtr, payload), OK)
  }

  private allowed(access: number): boolean {
    return access === 0xe || (this.session !== undefined && this.session.keyNo === access)
  }

  private getCardUid(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    if (!this.session) return fail(ERR.permission)
    if (!this.openCommand(0x51, body, 0, 1)) return fail(ERR.integrity)
    return this.answer(3, this.uid)
  }

  private file(no: number): FileState | undefined {
    return this.files.get(no)
  }

  private writeData(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    if (body.length < 7) return fail(ERR.length)
    const f = this.file(body[0]!)
    if (!f) return fail(ERR.fileNotFound)
    if (!this.allowed(f.write) && !this.allowed(f.readWrite)) return fail(ERR.permission)
    // Free access is plain (NT4H2421Gx §8.2.3.4); otherwise the file's CommMode.
    const mode =
      this.session && !(f.write === 0xe && this.session.keyNo !== f.write) ? f.commMode : 0
    let header = body.subarray(0, 7)
    let data = body.subarray(7)
    if (this.session) {
      const opened = this.openCommand(0x8d, body, 7, mode)
      if (!opened) return fail(ERR.integrity)
      header = opened.header
      data = opened.data
    }
    const offset = le24(header, 1)
    const length = le24(header, 4)
    if (data.length !== length) return fail(ERR.length)
    if (offset + length > f.data.length) return fail(ERR.boundary)
    f.data.set(data, offset)
    return this.session ? this.answer(mode === 0 ? 0 : 1) : OK
  }

  private readData(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    const f = this.file(body[0] ?? 0xff)
    if (!f) return fail(ERR.fileNotFound)
    if (!this.allowed(f.read) && !this.allowed(f.readWrite)) return fail(ERR.permission)
    const authedMode =
      this.session && !(f.read === 0xe && this.session.keyNo !== f.read) ? f.commMode : 0
    let header = body.subarray(0, 7)
    if (this.session) {
      const opened = this.openCommand(0xad, body, 7, authedMode === 0 ? 0 : 1)
      if (!opened) return fail(ERR.integrity)
      header = opened.header
    } else if (body.length !== 7) return fail(ERR.length)
    const offset = le24(header, 1)
    const length = le24(header, 4) || f.data.length - offset
    if (offset + length > f.data.length) return fail(ERR.boundary)
    const view = this.session ? f.data : this.readView(f)
    const out = view.slice(offset, offset + length)
    return this.session ? this.answer(authedMode, out) : concat(out, OK)
  }

  private settingsOf(no: number, f: FileState): Bytes {
    const option = (f.sdm ? 0x40 : 0) | f.commMode
    const access = Uint8Array.of((f.readWrite << 4) | f.change, (f.read << 4) | f.write)
    const base = concat(
      Uint8Array.of(0x00, option),
      access,
      Uint8Array.of(f.data.length & 0xff, (f.data.length >>> 8) & 0xff, 0),
    )
    void no
    if (!f.sdm) return base
    const s = f.sdm
    const le = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff)
    return concat(
      base,
      Uint8Array.of(s.options, 0xf0 | s.ctrRet, (s.metaRead << 4) | s.fileRead),
      s.piccOffset !== undefined ? le(s.piccOffset) : new Uint8Array(0),
      s.macInputOffset !== undefined ? le(s.macInputOffset) : new Uint8Array(0),
      s.macOffset !== undefined ? le(s.macOffset) : new Uint8Array(0),
    )
  }

  private getFileSettings(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    const no = body[0] ?? 0xff
    const f = this.file(no)
    if (!f) return fail(ERR.fileNotFound)
    if (!this.session) return concat(this.settingsOf(no, f), OK)
    if (!this.openCommand(0xf5, body, 1, 1)) return fail(ERR.integrity)
    return this.answer(1, this.settingsOf(no, f))
  }

  private changeFileSettings(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    if (!this.session) return fail(ERR.permission)
    const f = this.file(body[0] ?? 0xff)
    if (!f) return fail(ERR.fileNotFound)
    if (f.change !== 0xe && f.change !== this.session.keyNo) return fail(ERR.permission)
    const opened = this.openCommand(0x5f, body, 1, 3)
    if (!opened) return fail(ERR.integrity)
    const d = opened.data
    if (d.length < 3) return fail(ERR.length)
    const option = d[0]!
    const next: Partial<FileState> = {
      commMode: option & 0x03,
      readWrite: d[1]! >>> 4,
      change: d[1]! & 0x0f,
      read: d[2]! >>> 4,
      write: d[2]! & 0x0f,
    }
    let sdm: SdmSettings | undefined
    if (option & 0x40) {
      if (d.length < 6) return fail(ERR.length)
      const options = d[3]!
      const ctrRet = d[4]! & 0x0f
      const metaRead = d[5]! >>> 4
      const fileRead = d[5]! & 0x0f
      let at = 6
      const take = () => {
        if (at + 3 > d.length) throw new RangeError('short')
        const v = le24(d, at)
        at += 3
        return v
      }
      try {
        const piccOffset = metaRead <= 4 ? take() : undefined
        const macInputOffset = fileRead <= 4 ? take() : undefined
        const macOffset = fileRead <= 4 ? take() : undefined
        if (at !== d.length) return fail(ERR.length)
        if (options !== 0xc1) return fail(ERR.parameter) // only UID + counter mirroring, ASCII
        if (piccOffset !== undefined && piccOffset + 32 > f.data.length) return fail(ERR.parameter)
        if (
          macOffset !== undefined &&
          (macOffset + 16 > f.data.length || macInputOffset! > macOffset)
        )
          return fail(ERR.parameter)
        sdm = {
          options,
          metaRead,
          fileRead,
          ctrRet,
          ...(piccOffset !== undefined ? { piccOffset } : {}),
          ...(macInputOffset !== undefined ? { macInputOffset } : {}),
          ...(macOffset !== undefined ? { macOffset } : {}),
        }
      } catch {
        return fail(ERR.length)
      }
    } else if (d.length !== 3) return fail(ERR.length)
    Object.assign(f, next)
    f.sdm = sdm
    // Enabling SDM resets SDMReadCtr (NT4H2421Gx §10.7.1).
    if (sdm) f.sdmReadCtr = 0
    else delete f.sdm
    return this.answer(1)
  }

  private changeKey(body: Bytes, fail: (e: Bytes) => Bytes): Bytes {
    const s = this.session
    if (!s) return fail(ERR.permission)
    // Only the application master key (key 0) may change keys (KeySett default).
    if (s.keyNo !== 0) return fail(ERR.permission)
    const keyNo = body[0] ?? 0xff
    if (keyNo > 4) return fail(ERR.noSuchKey)
    const opened = this.openCommand(0xc4, body, 1, 3)
    if (!opened) return fail(ERR.integrity)
    const d = opened.data
    if (keyNo === s.keyNo) {
      if (d.length !== 17) return fail(ERR.length)
      this.keys[keyNo] = d.slice(0, 16)
      this.keyVersions[keyNo] = d[16]!
      // The session's key changed: the answer has no MAC and the session ends.
      s.cmdCtr += 1
      this.session = undefined
      return OK
    }
    if (d.length !== 21) return fail(ERR.length)
    const newKey = new Uint8Array(16)
    for (let i = 0; i < 16; i++) newKey[i] = d[i]! ^ this.keys[keyNo]![i]!
    if (!equalBytes(crc32nk(newKey), d.subarray(17, 21))) return fail(ERR.integrity)
    this.keys[keyNo] = newKey
    this.keyVersions[keyNo] = d[16]!
    return this.answer(1)
  }

  /** SDMReadCtr of the NDEF file. */
  get readCounter(): number {
    return this.files.get(2)!.sdmReadCtr
  }

  /** The command counter of the open session (tests). */
  get sessionCounter(): number | undefined {
    return this.session?.cmdCtr
  }
}
