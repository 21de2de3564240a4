// Programming a Flash Card through the REAL PC/SC stack: pcscd with vsmartcard's vpcd driver,
// the NTAG 424 emulator connected as vpcd's virtual card, and the box's `smartcard` binding as
// the desktop's reader. Program, tap (read the SUN URL), reset — each APDU goes through pcscd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromHex, hex } from '../../src/core/boltcard/aes-cmac'
import { deriveKeys } from '../../src/core/boltcard/deterministic-keys'
import {
  programCard,
  readCardUrl,
  resetCard,
  sunParameters,
} from '../../src/core/boltcard/card-programming'
import { connectCard, listReaders } from '../../src/core/boltcard/pcsc-reader'
import { checkSdmMac, decryptPiccData } from '../../src/core/boltcard/sun-message'
import { Ntag424Emulator } from '../simulators/ntag424-emulator'
import { startPcscdWithVpcd, type PcscdVpcd } from '../simulators/pcscd-vpcd'

const issuer = fromHex('0f0e0d0c0b0a09080706050403020100')
let pcsc: PcscdVpcd
const card = new Ntag424Emulator()

// The card emulator answers pcscd from this test's own event loop, while the `smartcard` binding
// makes some PC/SC calls synchronously: pcscd waiting on the emulator while the binding waits on
// pcscd froze a CI run and hung 2 of 4 runs here. Opt in with FLASHBOX_PCSC_TESTS=1 until
// the emulator runs in a process of its own.
const pcscOff = process.env.FLASHBOX_PCSC_TESTS !== '1'

beforeAll(async () => {
  if (pcscOff) return
  pcsc = await startPcscdWithVpcd()
})

afterAll(async () => {
  if (pcscOff) return
  await card.remove()
  await pcsc?.stop()
})

async function onReader<T>(fn: (t: Awaited<ReturnType<typeof connectCard>>) => Promise<T>) {
  const t = await connectCard({ reader: pcsc.readerName, timeoutMs: 10_000 })
  try {
    return await fn(t)
  } finally {
    t.close()
  }
}

describe.skipIf(pcscOff)('Flash Card programming over pcscd + vpcd', () => {
  it('sees the virtual reader; no card on it yet', async () => {
    expect(await listReaders()).toContain(pcsc.readerName)
    await expect(connectCard({ reader: pcsc.readerName, timeoutMs: 500 })).rejects.toMatchObject({
      code: 'boltcard.no_card',
    })
  })

  it('programs the card, a tap reads a valid SUN URL, and reset brings back the factory keys', async () => {
    await card.insert(pcsc.port)
    const before = card.received.length
    await onReader((t) =>
      programCard(t, async (uid) => ({
        keys: deriveKeys(issuer, uid, 1),
        lnurlw: 'lnurlw://box.example/boltcard/withdraw',
      })),
    )
    // Everything went through pcscd to the emulator.
    expect(card.received.length - before).toBeGreaterThanOrEqual(10)
    const keys = deriveKeys(issuer, card.uid, 1)
    expect(hex(card.keys[2]!)).toBe(hex(keys.k2))

    const url = (await onReader((t) => readCardUrl(t)))!
    const { p, c } = sunParameters(url)!
    const picc = decryptPiccData(keys.k1, p)!
    expect(hex(picc.uid)).toBe(hex(card.uid))
    expect(checkSdmMac(keys.k2, picc, c)).toBe(true)

    await onReader((t) => resetCard(t, async () => deriveKeys(issuer, card.uid, 1)))
    expect(card.isFactory).toBe(true)
    expect(await onReader((t) => readCardUrl(t))).toBeUndefined()
  })

  it('a card taken off the reader is gone for PC/SC', async () => {
    await card.remove()
    await expect(connectCard({ reader: pcsc.readerName, timeoutMs: 1_500 })).rejects.toMatchObject({
      code: 'boltcard.no_card',
    })
  })
})
