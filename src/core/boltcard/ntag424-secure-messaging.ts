// NTAG 424 DNA secure messaging with AES keys (NT4H2421Gx §9.1, NXP AN12196 §4–§5):
//   - AuthenticateEV2First: the 3-pass mutual authentication with RndA/RndB (§9.1.5);
//   - session keys SesAuthENCKey/SesAuthMACKey = CMAC(Kx, SV1/SV2) (§9.1.7);
//   - CommMode.MAC and CommMode.Full: command and response MACs over the command counter and the
//     transaction identifier (TI), data encrypted in CBC under IVs derived from both (§9.1.4).
// These are the pure functions both ends need; the reader side drives them in ntag424.ts and the
// card emulator in tests/simulators/ntag424-emulator.ts.
import { crc32 } from 'node:zlib'
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesCmac,
  aesEcbEncrypt,
  concat,
  equalBytes,
  padM2,
  truncateMac,
  unpadM2,
  type Bytes,
} from './aes-cmac'

export interface SessionKeys {
  readonly encKey: Bytes
  readonly macKey: Bytes
}

/** An authenticated session: its keys, transaction identifier and command counter. */
export interface Session extends SessionKeys {
  readonly keyNo: number
  readonly ti: Bytes
  /** CmdCtr: 0 after authentication, +1 for every command answered inside the session. */
  cmdCtr: number
}

export type CommMode = 'plain' | 'mac' | 'full'

/** Rotates left by one byte: RndB' and RndA' of the authentication. */
export const rotateLeft = (b: Bytes): Bytes => concat(b.subarray(1), b.subarray(0, 1))

/**
 * SV1 (label A5 5A) and SV2 (5A A5) of §9.1.7: label ‖ 00 01 00 80 ‖ RndA[15..14] ‖
 * (RndA[13..8] ⊕ RndB[15..10]) ‖ RndB[9..0] ‖ RndA[7..0], byte 15 being the first (MSB first).
 */
export function sessionVector(label: 'A55A' | '5AA5', rndA: Bytes, rndB: Bytes): Bytes {
  const x = new Uint8Array(6)
  for (let i = 0; i < 6; i++) x[i] = rndA[2 + i]! ^ rndB[i]!
  return concat(
    label === 'A55A' ? Uint8Array.of(0xa5, 0x5a) : Uint8Array.of(0x5a, 0xa5),
    Uint8Array.of(0x00, 0x01, 0x00, 0x80),
    rndA.subarray(0, 2),
    x,
    rndB.subarray(6, 16),
    rndA.subarray(8, 16),
  )
}

export function sessionKeys(key: Bytes, rndA: Bytes, rndB: Bytes): SessionKeys {
  return {
    encKey: aesCmac(key, sessionVector('A55A', rndA, rndB)),
    macKey: aesCmac(key, sessionVector('5AA5', rndA, rndB)),
  }
}

const le16 = (n: number): Bytes => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff)

/** IVCmd (A5 5A) / IVResp (5A A5) = E(SesAuthENCKey, label ‖ TI ‖ CmdCtr(LE) ‖ 0⁸) (§9.1.4). */
export function secureMessagingIv(
  s: Pick<Session, 'encKey' | 'ti'>,
  direction: 'command' | 'response',
  cmdCtr: number,
): Bytes {
  const label = direction === 'command' ? [0xa5, 0x5a] : [0x5a, 0xa5]
  return aesEcbEncrypt(
    s.encKey,
    concat(Uint8Array.from(label), s.ti, le16(cmdCtr), new Uint8Array(8)),
  )
}

/** MACt of a command: CMAC(SesAuthMACKey, Cmd ‖ CmdCtr ‖ TI ‖ CmdHeader ‖ Data), truncated. */
export function commandMac(
  s: Pick<Session, 'macKey' | 'ti'>,
  ins: number,
  cmdCtr: number,
  header: Bytes,
  data: Bytes,
): Bytes {
  return truncateMac(
    aesCmac(s.macKey, concat(Uint8Array.of(ins), le16(cmdCtr), s.ti, header, data)),
  )
}

/** MACt of a response: CMAC(SesAuthMACKey, RC ‖ CmdCtr+1 ‖ TI ‖ Data), truncated. */
export function responseMac(
  s: Pick<Session, 'macKey' | 'ti'>,
  returnCode: number,
  cmdCtrAfter: number,
  data: Bytes,
): Bytes {
  return truncateMac(
    aesCmac(s.macKey, concat(Uint8Array.of(returnCode), le16(cmdCtrAfter), s.ti, data)),
  )
}

/** Encrypts command data for CommMode.Full (padding method 2 always adds a byte). */
export const encryptCommandData = (s: Session, cmdCtr: number, plain: Bytes): Bytes =>
  aesCbcEncrypt(s.encKey, padM2(plain), secureMessagingIv(s, 'command', cmdCtr))

export const decryptCommandData = (s: Session, cmdCtr: number, enc: Bytes): Bytes | undefined =>
  unpadM2(aesCbcDecrypt(s.encKey, enc, secureMessagingIv(s, 'command', cmdCtr)))

export const encryptResponseData = (s: Session, cmdCtrAfter: number, plain: Bytes): Bytes =>
  aesCbcEncrypt(s.encKey, padM2(plain), secureMessagingIv(s, 'response', cmdCtrAfter))

export const decryptResponseData = (
  s: Session,
  cmdCtrAfter: number,
  enc: Bytes,
): Bytes | undefined =>
  unpadM2(aesCbcDecrypt(s.encKey, enc, secureMessagingIv(s, 'response', cmdCtrAfter)))

/**
 * The body (after CLA INS P1 P2 Lc) of a native command in a session, and the counter it used:
 * header in plain, then data (encrypted for Full), then MACt for MAC and Full.
 */
export function protectCommand(
  s: Session,
  ins: number,
  header: Bytes,
  data: Bytes,
  mode: CommMode,
): Bytes {
  if (mode === 'plain') return concat(header, data)
  const payload = mode === 'full' && data.length > 0 ? encryptCommandData(s, s.cmdCtr, data) : data
  return concat(header, payload, commandMac(s, ins, s.cmdCtr, header, payload))
}

/**
 * Checks (MAC, Full) and opens (Full) a response in a session; advances CmdCtr. Throws
 * `ResponseMacError` when the MAC is wrong: the card, or something between, is not who it claims.
 */
export function openResponse(s: Session, body: Bytes, mode: CommMode): Bytes {
  s.cmdCtr += 1
  if (mode === 'plain') return body
  if (body.length < 8) throw new ResponseMacError('response too short for a MAC')
  const data = body.subarray(0, body.length - 8)
  const mac = body.subarray(body.length - 8)
  if (!equalBytes(mac, responseMac(s, 0x00, s.cmdCtr, data)))
    throw new ResponseMacError('response MAC does not match')
  if (mode === 'mac' || data.length === 0) return data
  const plain = decryptResponseData(s, s.cmdCtr, data)
  if (!plain) throw new ResponseMacError('response padding is malformed')
  return plain
}

export class ResponseMacError extends Error {}

// --- AuthenticateEV2First, reader (PCD) side -------------------------------------------------

/** Part 1 answered E(Kx, RndB): the reader's part 2, E(Kx, RndA ‖ RndB'), and RndB. */
export function authPart2(key: Bytes, encRndB: Bytes, rndA: Bytes): { part2: Bytes; rndB: Bytes } {
  const rndB = aesCbcDecrypt(key, encRndB)
  return { part2: aesCbcEncrypt(key, concat(rndA, rotateLeft(rndB))), rndB }
}

/**
 * Part 2 answered E(Kx, TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2): checks RndA' (the card knows Kx) and
 * opens the session. Undefined when the card's answer does not prove the key.
 */
export function authFinish(
  key: Bytes,
  keyNo: number,
  rndA: Bytes,
  rndB: Bytes,
  encAnswer: Bytes,
): Session | undefined {
  if (encAnswer.length !== 32) return undefined
  const plain = aesCbcDecrypt(key, encAnswer)
  if (!equalBytes(plain.subarray(4, 20), rotateLeft(rndA))) return undefined
  return { keyNo, ti: plain.slice(0, 4), cmdCtr: 0, ...sessionKeys(key, rndA, rndB) }
}

// --- ChangeKey data (§10.6.1) ---------------------------------------------------------------

/** JAMCRC: CRC-32 without the final inversion, little-endian, as ChangeKey's CRC32NK. */
export function crc32nk(data: Bytes): Bytes {
  const c = ~crc32(data) >>> 0
  return Uint8Array.of(c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, (c >>> 24) & 0xff)
}

/**
 * The plain data of ChangeKey: for the key authenticated with, NewKey ‖ KeyVer; for another key,
 * (NewKey ⊕ OldKey) ‖ KeyVer ‖ CRC32NK(NewKey).
 */
export function changeKeyData(
  sessionKeyNo: number,
  keyNo: number,
  newKey: Bytes,
  oldKey: Bytes,
  keyVersion: number,
): Bytes {
  if (keyNo === sessionKeyNo) return concat(newKey, Uint8Array.of(keyVersion))
  const x = new Uint8Array(16)
  for (let i = 0; i < 16; i++) x[i] = newKey[i]! ^ oldKey[i]!
  return concat(x, Uint8Array.of(keyVersion), crc32nk(newKey))
}
