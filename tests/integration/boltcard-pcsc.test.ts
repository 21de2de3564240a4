// Programming a Flash Card through the REAL PC/SC stack: pcscd with vsmartcard's vpcd driver,
// the NTAG 424 emulator connected as vpcd's virtual card from a process of its own, and the box's
// `smartcard` binding (in its PC/SC thread, pcsc-worker.ts) as the desktop's reader. Program, tap
// (read the SUN URL), reset — each APDU goes through pcscd. Then pcscd stops answering, and dies:
// each is a bounded, plainly worded failure while this event loop keeps running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromHex, hex } from '../../src/core/boltcard/aes-cmac'
import { deriveKeys } from '../../src/core/boltcard/deterministic-keys'
import {
  programCard,
  readCardUrl,
  resetCard,
  sunParameters,
} from '../../src/core/boltcard/card-programming'
import {
  connectCard,
  listReaders,
  PCSC_CALL_TIMEOUT_MS,
  stopPcsc,
} from '../../src/core/boltcard/pcsc-reader'
import { checkSdmMac, decryptPiccData } from '../../src/core/boltcard/sun-message'
import { Ntag424CardProcess } from '../simulators/ntag424-card-process'
import { startPcscdWithVpcd, type PcscdVpcd } from '../simulators/pcscd-vpcd'

const issuer = fromHex('0f0e0d0c0b0a09080706050403020100')
let pcsc: PcscdVpcd | undefined
let card: Ntag424CardProcess | undefined

beforeAll(async () => {
  pcsc = await startPcscdWithVpcd()
  card = await Ntag424CardProcess.start()
}, 60_000)

afterAll(async () => {
  await stopPcsc()
  await card?.stop()
  await pcsc?.stop()
}, 30_000)

async function onReader<T>(fn: (t: Awaited<ReturnType<typeof connectCard>>) => Promise<T>) {
  const t = await connectCard({ reader: pcsc!.readerName, timeoutMs: 10_000 })
  try {
    return await fn(t)
  } finally {
    t.close()
  }
}

/** The longest gap between ticks of this event loop while `fn` runs. */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ stallMs: number; result: T }> {
  let last = Date.now()
  let stallMs = 0
  const tick = setInterval(() => {
    stallMs = Math.max(stallMs, Date.now() - last)
    last = Date.now()
  }, 20)
  try {
    return { stallMs, result: await fn() }
  } finally {
    clearInterval(tick)
    stallMs = Math.max(stallMs, Date.now() - last)
  }
}

describe('Flash Card programming over pcscd + vpcd', { timeout: 40_000 }, () => {
  it('sees the virtual reader; no card on it yet', async () => {
    expect(await listReaders()).toContain(pcsc!.readerName)
    await expect(connectCard({ reader: pcsc!.readerName, timeoutMs: 500 })).rejects.toMatchObject({
      code: 'boltcard.no_card',
    })
  })

  it('programs the card, a tap reads a valid SUN URL, and reset brings back the factory keys', async () => {
    await card!.insert(pcsc!.port)
    const before = (await card!.state()).received
    await onReader((t) =>
      programCard(t, async (uid) => ({
        keys: deriveKeys(issuer, uid, 1),
        lnurlw: 'lnurlw://box.example/boltcard/withdraw',
      })),
    )
    // Everything went through pcscd to the emulator's process.
    const programmed = await card!.state()
    expect(programmed.received - before).toBeGreaterThanOrEqual(10)
    const keys = deriveKeys(issuer, card!.uid, 1)
    expect(programmed.keys[2]).toBe(hex(keys.k2))

    const url = (await onReader((t) => readCardUrl(t)))!
    const { p, c } = sunParameters(url)!
    const picc = decryptPiccData(keys.k1, p)!
    expect(hex(picc.uid)).toBe(hex(card!.uid))
    expect(checkSdmMac(keys.k2, picc, c)).toBe(true)

    await onReader((t) => resetCard(t, async () => deriveKeys(issuer, card!.uid, 1)))
    expect((await card!.state()).isFactory).toBe(true)
    expect(await onReader((t) => readCardUrl(t))).toBeUndefined()
  })

  it('a card taken off the reader is gone for PC/SC', async () => {
    await card!.remove()
    await expect(connectCard({ reader: pcsc!.readerName, timeoutMs: 1_500 })).rejects.toMatchObject(
      { code: 'boltcard.no_card' },
    )
  })

  it('pcscd that stops answering is a bounded failure, and this event loop never stalls', async () => {
    process.kill(pcsc!.pid, 'SIGSTOP')
    let stalled
    try {
      const started = Date.now()
      stalled = await longestStall(() =>
        listReaders().then(
          () => 'answered',
          (err: unknown) => err,
        ),
      )
      const tookMs = Date.now() - started
      expect(stalled.result).toMatchObject({
        code: 'boltcard.reader_not_answering',
        hint: expect.stringContaining('Merchant → Flash Cards'),
      })
      expect(tookMs).toBeGreaterThanOrEqual(PCSC_CALL_TIMEOUT_MS - 100)
      expect(tookMs).toBeLessThan(PCSC_CALL_TIMEOUT_MS + 3_000)
    } finally {
      process.kill(pcsc!.pid, 'SIGCONT')
    }
    // The binding's calls block only its own thread.
    expect(stalled.stallMs).toBeLessThan(1_000)
    // Once pcscd answers again, so does the reader (the thread finished its call).
    expect(await listReaders()).toContain(pcsc!.readerName)
  })

  it('pcscd gone: the reader service is unavailable, in plain words', async () => {
    process.kill(pcsc!.pid, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 200))
    await expect(listReaders()).rejects.toMatchObject({
      code: 'boltcard.pcsc_unavailable',
      hint: expect.stringContaining('Merchant → Flash Cards'),
    })
  })
})
