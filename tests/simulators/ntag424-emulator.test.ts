// The NTAG 424 emulator driven by the box's own programming flow (no PC/SC here: the integration
// test tests/integration/boltcard-pcsc.test.ts runs the same through pcscd and vpcd).
import { describe, expect, it } from 'vitest'
import { fromHex, hex } from '../../src/core/boltcard/aes-cmac'
import { cardId, deriveKeys } from '../../src/core/boltcard/deterministic-keys'
import {
  programCard,
  readCardUrl,
  resetCard,
  sunParameters,
} from '../../src/core/boltcard/card-programming'
import { Ntag424 } from '../../src/core/boltcard/ntag424'
import { checkSdmMac, decryptPiccData } from '../../src/core/boltcard/sun-message'
import { Ntag424Emulator } from './ntag424-emulator'

const issuer = fromHex('00112233445566778899aabbccddeeff')
const transportOf = (card: Ntag424Emulator) => ({
  transmit: async (apdu: Uint8Array) => card.transmit(apdu),
})

describe('NTAG 424 emulator + card programming', () => {
  it('programs a blank card; every tap carries a fresh counter and a MAC only its keys make', async () => {
    const card = new Ntag424Emulator()
    const t = transportOf(card)
    let seenUid = ''
    const programmed = await programCard(t, async (uid) => {
      seenUid = hex(uid)
      return { keys: deriveKeys(issuer, uid, 1), lnurlw: 'lnurlw://shop.example/boltcard/w' }
    })
    expect(seenUid).toBe(hex(card.uid))
    const keys = deriveKeys(issuer, card.uid, 1)
    expect(card.keys.map(hex)).toEqual([keys.k0, keys.k1, keys.k2, keys.k3, keys.k4].map(hex))
    expect(card.keyVersions).toEqual([1, 1, 1, 1, 1])
    expect(programmed.lnurlw).toBe('lnurlw://shop.example/boltcard/w')

    const counters: number[] = []
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const url = (await readCardUrl(t))!
      expect(url).toMatch(/^lnurlw:\/\/shop\.example\/boltcard\/w\?p=[0-9A-F]{32}&c=[0-9A-F]{16}$/)
      seen.add(url)
      const { p, c } = sunParameters(url)!
      const picc = decryptPiccData(keys.k1, p)!
      expect(hex(picc.uid)).toBe(hex(card.uid))
      expect(checkSdmMac(keys.k2, picc, c)).toBe(true)
      expect(checkSdmMac(keys.k1, picc, c)).toBe(false)
      counters.push(picc.counter)
    }
    // readCardUrl reads twice (length, then the file): each read mirrors a new counter.
    expect(counters[1]! > counters[0]! && counters[2]! > counters[1]!).toBe(true)
    expect(seen.size).toBe(3)
    expect(hex(cardId(issuer, card.uid))).toHaveLength(32)
  })

  it('refuses to program a card that is not blank, and changes nothing', async () => {
    const card = new Ntag424Emulator()
    const t = transportOf(card)
    const keysFor = async (uid: Uint8Array) => ({
      keys: deriveKeys(issuer, uid, 1),
      lnurlw: 'lnurlw://shop.example/boltcard/w',
    })
    await programCard(t, keysFor)
    const before = card.keys.map(hex)
    await expect(programCard(t, keysFor)).rejects.toMatchObject({ code: 'boltcard.not_blank' })
    expect(card.keys.map(hex)).toEqual(before)
  })

  it('resets a card to factory keys and an empty NDEF; a wrong K0 is refused and leaves it programmed', async () => {
    const card = new Ntag424Emulator()
    const t = transportOf(card)
    await programCard(t, async (uid) => ({
      keys: deriveKeys(issuer, uid, 1),
      lnurlw: 'lnurlw://shop.example/boltcard/w',
    }))
    const wrong = deriveKeys(issuer, card.uid, 2)
    await expect(resetCard(t, async () => wrong)).rejects.toMatchObject({
      code: 'boltcard.wrong_key',
    })
    expect(card.isFactory).toBe(false)
    let askedWith = ''
    const done = await resetCard(t, async (url) => {
      askedWith = url
      return deriveKeys(issuer, card.uid, 1)
    })
    expect(sunParameters(askedWith)).toBeDefined()
    expect(done.uid).toBe(hex(card.uid))
    expect(card.isFactory).toBe(true)
    expect(card.files.get(2)!.sdm).toBeUndefined()
    expect(await readCardUrl(t)).toBeUndefined()
    await expect(resetCard(t, async () => wrong)).rejects.toMatchObject({
      code: 'boltcard.already_blank',
    })
    // Blank again: it can be programmed again (with the next key version).
    await programCard(t, async (uid) => ({
      keys: deriveKeys(issuer, uid, 2),
      lnurlw: 'lnurlw://shop.example/boltcard/w',
    }))
    expect(hex(card.keys[0]!)).toBe(hex(deriveKeys(issuer, card.uid, 2).k0))
  })

  it('ends the session on a command with a bad MAC', async () => {
    const card = new Ntag424Emulator()
    const tag = new Ntag424(transportOf(card))
    await tag.selectApplication()
    await tag.authenticateEV2First(0, new Uint8Array(16))
    expect(card.sessionCounter).toBe(0)
    // GetCardUID with a made-up MAC.
    const r = card.transmit(fromHex('90510000080001020304050607' + '00'))
    expect(hex(r)).toBe('911e')
    expect(card.sessionCounter).toBeUndefined()
    await expect(tag.getCardUid()).rejects.toMatchObject({ code: 'boltcard.card_refused' })
  })
})
