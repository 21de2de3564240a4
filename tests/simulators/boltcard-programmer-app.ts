// A stand-in for the Boltcard NFC Programmer app, speaking the deep-link protocol of Boltcard's
// docs/DEEPLINK.md: it opens `boltcard://program|reset?url=<keys-request-url>`, POSTs
// `{"UID": "<7 bytes hex>"}` (program) or `{"LNURLW": "lnurlw://…?p=…&c=…"}` (reset) as JSON to that
// URL, and gets `{LNURLW, K0…K4}` back. The card is an NTAG 424 DNA emulator held "on the phone"
// (in-process APDUs, no PC/SC). The NTAG steps reuse the box's card-programming.ts (the same
// Boltcard CARD_MANUAL sequence the app runs); what is under test is the link and its keys.
import { programCard, readCardUrl, resetCard } from '../../src/core/boltcard/card-programming'
import { fromHex, hex } from '../../src/core/boltcard/aes-cmac'
import type { ApduTransport } from '../../src/core/boltcard/ntag424'
import type { Ntag424Emulator } from './ntag424-emulator'

export interface KeysAnswer {
  readonly status: number
  readonly body: Record<string, unknown>
}

export function parseBoltcardLink(deepLink: string): { action: 'program' | 'reset'; url: string } {
  const m = /^boltcard:\/\/(program|reset)\?url=(.+)$/i.exec(deepLink)
  if (!m) throw new Error(`not a Boltcard deep link: ${deepLink}`)
  return { action: m[1]!.toLowerCase() as 'program' | 'reset', url: decodeURIComponent(m[2]!) }
}

/** The app's keys request (DEEPLINK.md: POST, Content-Type: application/json). */
export async function requestKeys(url: string, body: unknown): Promise<KeysAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

export const phone = (card: Ntag424Emulator): ApduTransport => ({
  transmit: async (apdu) => card.transmit(apdu),
})

const keysOf = (b: Record<string, unknown>) => {
  const k = (n: number) => fromHex(String(b[`K${n}`]))
  return { k0: k(0), k1: k(1), k2: k(2), k3: k(3), k4: k(4) }
}

/**
 * "Create Bolt Card": a card that carries an lnurlw link is refused (reset it first); otherwise
 * the factory K0 opens it, its UID is sent, and the answer's keys and LNURLW are written.
 */
export async function programWithApp(deepLink: string, card: Ntag424Emulator): Promise<KeysAnswer> {
  const { action, url } = parseBoltcardLink(deepLink)
  if (action !== 'program') throw new Error('not a program link')
  const t = phone(card)
  if (await readCardUrl(t)) throw new Error('the card is not blank: reset it first')
  let answer: KeysAnswer | undefined
  try {
    await programCard(t, async (uid) => {
      answer = await requestKeys(url, { UID: hex(uid).toUpperCase() })
      if (answer.status !== 200) throw new Error(String(answer.body.reason))
      return { keys: keysOf(answer.body), lnurlw: String(answer.body.LNURLW) }
    })
  } catch (err) {
    if (answer && answer.status !== 200) return answer
    throw err
  }
  return answer!
}

/** "Reset": the card's lnurlw (with p and c) is sent, and the answer's keys wipe it to factory. */
export async function resetWithApp(deepLink: string, card: Ntag424Emulator): Promise<KeysAnswer> {
  const { action, url } = parseBoltcardLink(deepLink)
  if (action !== 'reset') throw new Error('not a reset link')
  const t = phone(card)
  let answer: KeysAnswer | undefined
  try {
    await resetCard(t, async (lnurlw) => {
      answer = await requestKeys(url, { LNURLW: lnurlw })
      if (answer.status !== 200) throw new Error(String(answer.body.reason))
      return keysOf(answer.body)
    })
  } catch (err) {
    if (answer && answer.status !== 200) return answer
    throw err
  }
  return answer!
}
