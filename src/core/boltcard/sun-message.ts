// Secure Unique NFC (SUN) messages (NT4H2421Gx §9.3, NXP AN12196 §3): what a tap of a Boltcard
// puts in its URL. `p` is PICCData encrypted under the SDM meta-read key (K1); `c` is the SDMMAC
// under a session key derived from the SDM file-read key (K2), the UID and the read counter.
import { aesCbcDecrypt, aesCmac, concat, equalBytes, truncateMac, type Bytes } from './aes-cmac'

export interface PiccData {
  /** 7-byte UID. */
  readonly uid: Bytes
  /** SDMReadCtr as the 3 bytes the card sends (least significant first). */
  readonly counterBytes: Bytes
  /** SDMReadCtr as a number. */
  readonly counter: number
}

/** PICCDataTag with UID and SDMReadCtr mirrored and a 7-byte UID (§9.3.4). */
const PICC_TAG_UID_CTR_7 = 0xc7

/**
 * Decrypts PICCENCData (AES-CBC with a zero IV, one block). Undefined when the plaintext is not
 * a UID-and-counter PICCData: the key is wrong, or `p` is not from such a card.
 */
export function decryptPiccData(k1: Bytes, p: Bytes): PiccData | undefined {
  if (p.length !== 16) return undefined
  const plain = aesCbcDecrypt(k1, p)
  if (plain[0] !== PICC_TAG_UID_CTR_7) return undefined
  const counterBytes = plain.slice(8, 11)
  return {
    uid: plain.slice(1, 8),
    counterBytes,
    counter: counterBytes[0]! | (counterBytes[1]! << 8) | (counterBytes[2]! << 16),
  }
}

const sdmVector = (label: 0x3c | 0xc3, uid: Bytes, counterBytes: Bytes): Bytes =>
  concat(
    Uint8Array.of(label, label === 0x3c ? 0xc3 : 0x3c, 0x00, 0x01, 0x00, 0x80),
    uid,
    counterBytes,
  )

/** KSesSDMFileReadMAC = CMAC(K_SDMFileRead, 3C C3 00 01 00 80 ‖ UID ‖ SDMReadCtr) (§9.3.9.1). */
export const sdmSessionMacKey = (k2: Bytes, uid: Bytes, counterBytes: Bytes): Bytes =>
  aesCmac(k2, sdmVector(0x3c, uid, counterBytes))

/** KSesSDMFileReadENC = CMAC(K_SDMFileRead, C3 3C 00 01 00 80 ‖ UID ‖ SDMReadCtr). */
export const sdmSessionEncKey = (k2: Bytes, uid: Bytes, counterBytes: Bytes): Bytes =>
  aesCmac(k2, sdmVector(0xc3, uid, counterBytes))

/**
 * SDMMAC: MACt over the file bytes from SDMMACInputOffset up to the MAC. A Boltcard puts both
 * offsets at `c=`'s value, so its input is empty.
 */
export function sdmMac(k2: Bytes, picc: PiccData, macInput: Bytes = new Uint8Array(0)): Bytes {
  return truncateMac(aesCmac(sdmSessionMacKey(k2, picc.uid, picc.counterBytes), macInput))
}

export function checkSdmMac(k2: Bytes, picc: PiccData, c: Bytes, macInput?: Bytes): boolean {
  return c.length === 8 && equalBytes(c, sdmMac(k2, picc, macInput))
}
