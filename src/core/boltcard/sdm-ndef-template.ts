// The NDEF file a Boltcard carries, and the SDM file settings that make the card fill it on
// every read (NT4H2421Gx §9.3, NXP AN12196 §3 and tables 15–18; boltcard docs/CARD_MANUAL.md):
//   NLEN(2) ‖ D1 01 len 55 ‖ 00 (no URI prefix) ‖ "lnurlw://host/path?p=<32 zeros>&c=<16 zeros>"
// The card mirrors PICCData encrypted under K1 (SDMMetaRead) over `p`'s zeros and the SDMMAC
// under K2 (SDMFileRead) over `c`'s, with the MAC input empty (SDMMACInputOffset = SDMMACOffset).
import { concat, type Bytes } from './aes-cmac'

export const P_PLACEHOLDER = '0'.repeat(32)
export const C_PLACEHOLDER = '0'.repeat(16)
/** File 02 holds 256 bytes. */
export const NDEF_FILE_SIZE = 256

export interface NdefTemplate {
  readonly file: Bytes
  /** Offset in the file of `p`'s 32 ASCII hex digits (PICCDataOffset). */
  readonly piccOffset: number
  /** Offset in the file of `c`'s 16 ASCII hex digits (SDMMACInputOffset = SDMMACOffset). */
  readonly macOffset: number
}

/** NFC Forum URI record (short record, well-known type "U") in an NDEF file with NLEN. */
export function boltcardNdef(lnurlwBase: string): NdefTemplate {
  if (!/^lnurlw:\/\/[^\s?#]+$/.test(lnurlwBase))
    throw new RangeError('the card URL must be lnurlw://host/path without a query')
  const uri = `${lnurlwBase}?p=${P_PLACEHOLDER}&c=${C_PLACEHOLDER}`
  const text = new TextEncoder().encode(uri)
  const payload = concat(Uint8Array.of(0x00), text) // 0x00: no URI prefix abbreviation
  if (payload.length > 255) throw new RangeError('the card URL is too long for a short record')
  const record = concat(Uint8Array.of(0xd1, 0x01, payload.length, 0x55), payload)
  const file = concat(Uint8Array.of(record.length >>> 8, record.length & 0xff), record)
  if (file.length > NDEF_FILE_SIZE) throw new RangeError('the card URL does not fit the card')
  const start = 2 + 4 + 1
  return {
    file,
    piccOffset: start + uri.indexOf('?p=') + 3,
    macOffset: start + uri.indexOf('&c=') + 3,
  }
}

const le24 = (n: number): Bytes => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff)

/**
 * ChangeFileSettings data for file 02 with SDM as a Boltcard needs it:
 *   FileOption 40 (SDM on, CommMode.Plain) ‖ AccessRights 00 E0 (read free, write and change K0)
 *   ‖ SDMOptions C1 (UID and SDMReadCtr mirrored, ASCII) ‖ SDMAccessRights F2 12 (counter
 *   retrieval K2, meta-read K1, file-read K2) ‖ PICCDataOffset ‖ SDMMACInputOffset ‖ SDMMACOffset.
 */
export function sdmFileSettings(t: Pick<NdefTemplate, 'piccOffset' | 'macOffset'>): Bytes {
  return concat(
    Uint8Array.of(0x40, 0x00, 0xe0, 0xc1, 0xf2, 0x12),
    le24(t.piccOffset),
    le24(t.macOffset),
    le24(t.macOffset),
  )
}

/** File 02 as it leaves the factory: no SDM, CommMode.Plain, read and write free, change K0. */
export const FACTORY_NDEF_FILE_SETTINGS = Uint8Array.of(0x00, 0xe0, 0xee)
