// SUN messages against NXP AN12196 §3 (tables 1, 2, 4) and the Boltcard project's test vectors.
import { describe, expect, it } from 'vitest'
import an from './ntag424.an12196.vectors.json'
import bolt from './sun-message.boltcard.vectors.json'
import { fromHex, hex } from './aes-cmac'
import {
  checkSdmMac,
  decryptPiccData,
  sdmMac,
  sdmSessionEncKey,
  sdmSessionMacKey,
} from './sun-message'

const sun = an.sun

describe('AN12196 §3', () => {
  it('table 1: SDM session keys from UID and counter', () => {
    const t = sun.table1
    expect(hex(sdmSessionEncKey(fromHex(t.key), fromHex(t.uid), fromHex(t.counterBytes)))).toBe(
      t.sesSDMFileReadENCKey,
    )
    expect(hex(sdmSessionMacKey(fromHex(t.key), fromHex(t.uid), fromHex(t.counterBytes)))).toBe(
      t.sesSDMFileReadMACKey,
    )
  })

  it('table 2: PICCENCData decrypts to tag C7, the UID and the counter', () => {
    const picc = decryptPiccData(fromHex(sun.metaReadKey), fromHex(sun.piccEncData))!
    expect(hex(picc.uid)).toBe(sun.uid)
    expect(hex(picc.counterBytes)).toBe(sun.counterBytes)
    expect(picc.counter).toBe(sun.counter)
  })

  it('table 4: the SDMMAC of the example URL', () => {
    const picc = decryptPiccData(fromHex(sun.metaReadKey), fromHex(sun.piccEncData))!
    expect(hex(sdmSessionMacKey(fromHex(sun.fileReadKey), picc.uid, picc.counterBytes))).toBe(
      sun.sesSDMFileReadMACKey,
    )
    expect(hex(sdmMac(fromHex(sun.fileReadKey), picc))).toBe(sun.sdmMac)
    const url = new URL(sun.url)
    expect(url.searchParams.get('c')!.toLowerCase()).toBe(sun.sdmMac)
  })

  it('a wrong key gives no PICCData; a wrong counter or key fails the MAC', () => {
    const wrong = fromHex('00000000000000000000000000000001')
    expect(decryptPiccData(wrong, fromHex(sun.piccEncData))).toBeUndefined()
    const picc = decryptPiccData(fromHex(sun.metaReadKey), fromHex(sun.piccEncData))!
    expect(checkSdmMac(fromHex(sun.fileReadKey), picc, fromHex(sun.sdmMac))).toBe(true)
    expect(checkSdmMac(wrong, picc, fromHex(sun.sdmMac))).toBe(false)
    const replayed = { ...picc, counterBytes: Uint8Array.of(0x3e, 0, 0), counter: 62 }
    expect(checkSdmMac(fromHex(sun.fileReadKey), replayed, fromHex(sun.sdmMac))).toBe(false)
  })
})

describe('Boltcard test vectors (docs/TEST_VECTORS.md)', () => {
  it.each(bolt.taps.map((t) => [t.counter, t] as const))('tap with counter %i', (_n, t) => {
    const picc = decryptPiccData(fromHex(bolt.k1), fromHex(t.p))!
    expect(hex(picc.uid)).toBe(t.uid)
    expect(hex(picc.counterBytes)).toBe(t.counterBytes)
    expect(picc.counter).toBe(t.counter)
    expect(checkSdmMac(fromHex(bolt.k2), picc, fromHex(t.c))).toBe(true)
    expect(checkSdmMac(fromHex(bolt.k1), picc, fromHex(t.c))).toBe(false)
  })
})
