// Programming a blank NTAG 424 DNA into a Boltcard, and resetting it back to factory, over any
// APDU transport (the desktop NFC reader through PC/SC, or the emulator in tests). The steps are
// the Boltcard project's (docs/CARD_MANUAL.md, docs/DETERMINISTIC.md "How to setup" / "Reset"):
//   program: select → authenticate with the factory K0 → GetCardUID → ask for the keys →
//            write the NDEF template → SDM file settings → K1…K4 → K0 last (ends the session)
//   reset:   read the card's URL (p, c) → ask for the keys → authenticate with K0 → SDM off →
//            empty NDEF → K1…K4 back to zeros → K0 back to zeros
//   confirm: authenticate with the factory K0 and read the UID (factoryBlankUid)
import { FlashError } from '../errors'
import { fromHex, hex, type Bytes } from './aes-cmac'
import type { BoltcardKeys } from './deterministic-keys'
import { CardStatusError, FACTORY_KEY, FILE_NDEF, Ntag424, type ApduTransport } from './ntag424'
import {
  boltcardNdef,
  FACTORY_NDEF_FILE_SETTINGS,
  NDEF_FILE_SIZE,
  sdmFileSettings,
} from './sdm-ndef-template'

/** The key version written with the card's keys (the card keeps it; nothing reads it back). */
const PROGRAMMED_KEY_VERSION = 1

export interface CardKeysAnswer {
  readonly keys: BoltcardKeys
  /** lnurlw://host/path the card will carry (p and c are added). */
  readonly lnurlw: string
}

export interface ProgrammedCard {
  readonly uid: Bytes
  readonly lnurlw: string
}

/**
 * Programs a factory-blank card. `keysFor` registers the card (by its real UID) and answers its
 * keys and URL; it is called after the card proved it still has the factory K0, and before any
 * change, so a refusal there leaves the card blank.
 */
export async function programCard(
  transport: ApduTransport,
  keysFor: (uid: Bytes) => Promise<CardKeysAnswer>,
): Promise<ProgrammedCard> {
  const tag = new Ntag424(transport)
  await tag.selectApplication()
  try {
    await tag.authenticateEV2First(0, FACTORY_KEY)
  } catch (err) {
    if (err instanceof CardStatusError && err.code === 'boltcard.wrong_key')
      throw new FlashError(
        'boltcard.not_blank',
        'This card is already programmed (its keys are not the factory keys).',
        'Reset it first: with Flash Box if it is one of this shop’s cards (Merchant → Flash Cards → Reset), otherwise with whoever programmed it.',
      )
    throw err
  }
  const uid = await tag.getCardUid()
  const { keys, lnurlw } = await keysFor(uid)
  const template = boltcardNdef(lnurlw)
  // Freshly authenticated: the NDEF write (file CommMode.Plain) then the settings (Full).
  await tag.authenticateEV2First(0, FACTORY_KEY)
  await tag.writeData(FILE_NDEF, 0, template.file, 'plain')
  await tag.changeFileSettings(FILE_NDEF, sdmFileSettings(template))
  const newKeys = [keys.k0, keys.k1, keys.k2, keys.k3, keys.k4]
  for (const keyNo of [1, 2, 3, 4])
    await tag.changeKey(keyNo, newKeys[keyNo]!, FACTORY_KEY, PROGRAMMED_KEY_VERSION)
  await tag.changeKey(0, keys.k0, FACTORY_KEY, PROGRAMMED_KEY_VERSION)
  return { uid, lnurlw }
}

/** What a tap reads: the card's lnurlw URL with `p` and `c`, from the NDEF file. */
export async function readCardUrl(transport: ApduTransport): Promise<string | undefined> {
  const tag = new Ntag424(transport)
  await tag.selectApplication()
  const head = await tag.readData(FILE_NDEF, 0, 2)
  const nlen = (head[0]! << 8) | head[1]!
  if (nlen === 0 || nlen > NDEF_FILE_SIZE - 2) return undefined
  const file = await tag.readData(FILE_NDEF, 0, 2 + nlen)
  return parseNdefUri(file)
}

/** The URI of the first record of an NDEF file (NLEN ‖ record), or undefined. */
export function parseNdefUri(file: Bytes): string | undefined {
  const nlen = (file[0]! << 8) | file[1]!
  const rec = file.subarray(2, 2 + nlen)
  // Short record, well-known type "U".
  if (rec.length < 5 || (rec[0]! & 0x17) !== 0x11 || rec[1] !== 1 || rec[3] !== 0x55)
    return undefined
  const payload = rec.subarray(4, 4 + rec[2]!)
  const prefixes = ['', 'http://www.', 'https://www.', 'http://', 'https://']
  const prefix = prefixes[payload[0]!] ?? ''
  return prefix + new TextDecoder().decode(payload.subarray(1))
}

/** p and c of a card URL, as bytes; undefined when the URL has none. */
export function sunParameters(url: string): { p: Bytes; c: Bytes } | undefined {
  const q = url.slice(url.indexOf('?') + 1)
  const params = new URLSearchParams(q)
  const p = params.get('p') ?? ''
  const c = params.get('c') ?? ''
  if (!/^[0-9a-fA-F]{32}$/.test(p) || !/^[0-9a-fA-F]{16}$/.test(c)) return undefined
  return { p: fromHex(p), c: fromHex(c) }
}

/**
 * Resets a programmed card to factory state. `keysFor` gets the card's current URL (with p and
 * c, so the issuer can find the card and check it is the one it issued) and answers its keys.
 */
export async function resetCard(
  transport: ApduTransport,
  keysFor: (cardUrl: string) => Promise<BoltcardKeys>,
): Promise<{ uid: string }> {
  const url = await readCardUrl(transport)
  if (!url || !sunParameters(url))
    throw new FlashError(
      'boltcard.already_blank',
      'This card carries no Boltcard link: it is blank already, or not a Boltcard.',
      'Nothing to reset. To use it, program it on Merchant → Flash Cards.',
    )
  const keys = await keysFor(url)
  const tag = new Ntag424(transport)
  await tag.selectApplication()
  await tag.authenticateEV2First(0, keys.k0)
  const uid = await tag.getCardUid()
  await tag.changeFileSettings(FILE_NDEF, FACTORY_NDEF_FILE_SETTINGS)
  await tag.writeData(FILE_NDEF, 0, new Uint8Array(2), 'plain')
  const old = [keys.k0, keys.k1, keys.k2, keys.k3, keys.k4]
  for (const keyNo of [1, 2, 3, 4]) await tag.changeKey(keyNo, FACTORY_KEY, old[keyNo]!, 0)
  await tag.changeKey(0, FACTORY_KEY, keys.k0, 0)
  return { uid: hex(uid) }
}

/**
 * What a reset is confirmed by: the card answers an authentication with the factory K0 (NTAG 424
 * DNA's all-zero key). Its UID then (read in that session), or undefined when the factory key is
 * refused (the card still has keys).
 */
export async function factoryBlankUid(transport: ApduTransport): Promise<Bytes | undefined> {
  const tag = new Ntag424(transport)
  await tag.selectApplication()
  try {
    await tag.authenticateEV2First(0, FACTORY_KEY)
  } catch (err) {
    if (err instanceof CardStatusError && err.code === 'boltcard.wrong_key') return undefined
    throw err
  }
  return tag.getCardUid()
}
