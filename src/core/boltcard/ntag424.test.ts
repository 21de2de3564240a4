// NTAG 424 DNA secure messaging against the worked examples of NXP AN12196 (vectors JSON beside
// this file): every byte the reader sends and every answer it accepts is pinned to the note.
import { describe, expect, it } from 'vitest'
import v from './ntag424.an12196.vectors.json'
import { aesCmac, fromHex, hex, truncateMac } from './aes-cmac'
import {
  changeKeyData,
  commandMac,
  crc32nk,
  decryptResponseData,
  openResponse,
  protectCommand,
  ResponseMacError,
  secureMessagingIv,
  sessionKeys,
  sessionVector,
  type Session,
} from './ntag424-secure-messaging'
import { nativeApdu, Ntag424, type ApduTransport } from './ntag424'

/** A transport that expects exactly these command APDUs, in order, and answers each. */
function scripted(
  steps: ReadonlyArray<readonly [string, string]>,
): ApduTransport & { left(): number } {
  let i = 0
  return {
    async transmit(apdu) {
      const step = steps[i++]
      if (!step) throw new Error(`unexpected APDU ${hex(apdu)}`)
      expect(hex(apdu)).toBe(step[0])
      return fromHex(step[1])
    },
    left: () => steps.length - i,
  }
}

const t14 = v.table14_authenticateEV2First

describe('AES-CMAC (RFC 4493 §4)', () => {
  it.each(v.rfc4493.examples.map((e) => [e.message.length / 2, e] as const))(
    '%i-byte message',
    (_n, e) => {
      expect(hex(aesCmac(fromHex(v.rfc4493.key), fromHex(e.message)))).toBe(e.cmac)
    },
  )
})

describe('AuthenticateEV2First (AN12196 table 14)', () => {
  it('derives SV1, SV2 and the session keys', () => {
    const rndA = fromHex(t14.rndA)
    const rndB = fromHex(t14.rndB)
    expect(hex(sessionVector('A55A', rndA, rndB))).toBe(t14.sv1)
    expect(hex(sessionVector('5AA5', rndA, rndB))).toBe(t14.sv2)
    const k = sessionKeys(fromHex(t14.key), rndA, rndB)
    expect(hex(k.encKey)).toBe(t14.sesAuthENCKey)
    expect(hex(k.macKey)).toBe(t14.sesAuthMACKey)
  })

  it('sends the note’s APDUs, then WriteData (table 17) and ChangeFileSettings (table 18) in the session', async () => {
    const t17 = v.table17_writeDataFull
    const t18 = v.table18_changeFileSettingsFull
    const transport = scripted([
      [t14.cmd1, t14.resp1],
      [t14.cmd2, t14.resp2],
      [t17.cmd, t17.resp],
      [t18.cmd, t18.resp],
    ])
    const tag = new Ntag424(transport, () => fromHex(t14.rndA))
    await tag.authenticateEV2First(0, fromHex(t14.key))
    expect(tag.authenticated).toBe(true)
    // Tables 15/16: the NDEF file, 0x53 bytes, written padded with zeros to 0x80.
    const ndef = new TextEncoder().encode(t17.ndefUrl.replace('https://', ''))
    const file = new Uint8Array(0x80)
    file.set(Uint8Array.of(0x00, 0x51, 0xd1, 0x01, 0x4d, 0x55, 0x04))
    file.set(ndef, 7)
    await tag.writeData(2, 0, file, 'full')
    await tag.changeFileSettings(t18.fileNo, fromHex(t18.data))
    expect(transport.left()).toBe(0)
  })

  it('refuses a card whose part-2 answer does not prove the key', async () => {
    const bad = t14.resp2.replace(/^3f/, '3e')
    const tag = new Ntag424(
      scripted([
        [t14.cmd1, t14.resp1],
        [t14.cmd2, bad],
      ]),
      () => fromHex(t14.rndA),
    )
    await expect(tag.authenticateEV2First(0, fromHex(t14.key))).rejects.toMatchObject({
      code: 'boltcard.not_genuine',
    })
  })

  it('refuses an answer whose MAC is wrong (table 17 answer with one bit flipped)', async () => {
    const t17 = v.table17_writeDataFull
    const flipped = t17.resp.replace(/^fc/, 'fd')
    const tag = new Ntag424(
      scripted([
        [t14.cmd1, t14.resp1],
        [t14.cmd2, t14.resp2],
        [t17.cmd, flipped],
      ]),
      () => fromHex(t14.rndA),
    )
    await tag.authenticateEV2First(0, fromHex(t14.key))
    const file = new Uint8Array(0x80)
    file.set(Uint8Array.of(0x00, 0x51, 0xd1, 0x01, 0x4d, 0x55, 0x04))
    file.set(new TextEncoder().encode(t17.ndefUrl.replace('https://', '')), 7)
    await expect(tag.writeData(2, 0, file, 'full')).rejects.toMatchObject({
      code: 'boltcard.bad_answer',
    })
    expect(tag.authenticated).toBe(false)
  })
})

describe('ChangeKey (AN12196 tables 23, 25, 26)', () => {
  const b = v.session_tables19_23
  const session = (cmdCtr: number): Session => ({
    keyNo: 0,
    ti: fromHex(b.ti),
    encKey: fromHex(b.sesAuthENCKey),
    macKey: fromHex(b.sesAuthMACKey),
    cmdCtr,
  })

  it('table 23 session keys from RndA/RndB', () => {
    const k = sessionKeys(new Uint8Array(16), fromHex(b.rndA), fromHex(b.rndB))
    expect(hex(k.encKey)).toBe(b.sesAuthENCKey)
    expect(hex(k.macKey)).toBe(b.sesAuthMACKey)
  })

  it('table 25: another key, (new ⊕ old) ‖ version ‖ CRC32NK', () => {
    const t = v.table25_changeKeyOther
    const s = session(t.cmdCtr)
    expect(hex(crc32nk(fromHex(t.newKey)))).toBe(t.crc32)
    expect(hex(secureMessagingIv(s, 'command', t.cmdCtr))).toBe(t.ive)
    const data = changeKeyData(0, t.keyNo, fromHex(t.newKey), fromHex(t.oldKey), 1)
    const apdu = nativeApdu(0xc4, protectCommand(s, 0xc4, Uint8Array.of(t.keyNo), data, 'full'))
    expect(hex(apdu)).toBe(t.cmd)
    const encrypted = fromHex(t.encrypted)
    expect(
      hex(
        aesCmac(
          s.macKey,
          Uint8Array.of(0xc4, t.cmdCtr, 0, ...fromHex(b.ti), t.keyNo, ...encrypted),
        ),
      ),
    ).toBe(t.cmac)
    // The card's answer: MACt over RC ‖ CmdCtr+1 ‖ TI.
    const answer = fromHex(t.resp).subarray(0, 8)
    expect(hex(openResponse(s, answer, 'mac'))).toBe('')
    expect(s.cmdCtr).toBe(t.cmdCtr + 1)
  })

  it('table 26: the session key itself, new ‖ version', () => {
    const t = v.table26_changeKeySame
    const s = session(t.cmdCtr)
    expect(hex(secureMessagingIv(s, 'command', t.cmdCtr))).toBe(t.ivc)
    const data = changeKeyData(0, t.keyNo, fromHex(t.newKey), new Uint8Array(16), 1)
    expect(hex(nativeApdu(0xc4, protectCommand(s, 0xc4, Uint8Array.of(0), data, 'full')))).toBe(
      t.cmd,
    )
  })

  it('a wrong old key or version changes the cryptogram', () => {
    const t = v.table25_changeKeyOther
    const s = session(t.cmdCtr)
    const wrongOld = changeKeyData(0, 2, fromHex(t.newKey), fromHex(t.newKey), 1)
    const wrongVer = changeKeyData(0, 2, fromHex(t.newKey), fromHex(t.oldKey), 0)
    for (const d of [wrongOld, wrongVer])
      expect(hex(nativeApdu(0xc4, protectCommand(s, 0xc4, Uint8Array.of(2), d, 'full')))).not.toBe(
        t.cmd,
      )
  })
})

describe('GetCardUID (table 28) and GetFileSettings in CommMode.MAC (table 7)', () => {
  it('table 28: the command MAC, the answer MAC and the decrypted UID', () => {
    const t = v.table28_getCardUid
    const s: Session = {
      keyNo: 0,
      ti: fromHex(t.ti),
      encKey: fromHex(t.sesAuthENCKey),
      macKey: fromHex(t.sesAuthMACKey),
      cmdCtr: 0,
    }
    expect(
      hex(nativeApdu(0x51, protectCommand(s, 0x51, new Uint8Array(0), new Uint8Array(0), 'mac'))),
    ).toBe(t.cmd)
    const resp = fromHex(t.resp)
    expect(hex(openResponse(s, resp.subarray(0, resp.length - 2), 'full'))).toBe(t.uid)
    // The same ciphertext opened at the wrong counter does not give the UID.
    expect(decryptResponseData(s, 0, resp.subarray(0, 16))).toBeUndefined()
  })

  it('table 7: the command MAC and the answer MAC', () => {
    const t = v.table7_getFileSettingsMac
    const s: Session = {
      keyNo: 0,
      ti: fromHex(t.ti),
      encKey: new Uint8Array(16),
      macKey: fromHex(t.sesAuthMACKey),
      cmdCtr: 0,
    }
    expect(
      hex(nativeApdu(0xf5, protectCommand(s, 0xf5, Uint8Array.of(2), new Uint8Array(0), 'mac'))),
    ).toBe(t.cmd)
    const resp = fromHex(t.resp)
    const body = resp.subarray(0, resp.length - 2)
    expect(hex(openResponse({ ...s }, body, 'mac'))).toBe(
      '0040eeee000100d1fe001f00004400004400002000006a0000',
    )
    const tampered = Uint8Array.from(body)
    tampered[1]! ^= 0x01
    expect(() => openResponse({ ...s }, tampered, 'mac')).toThrow(ResponseMacError)
    expect(hex(commandMac(s, 0xf5, 1, Uint8Array.of(2), new Uint8Array(0)))).not.toBe(
      '6597a457c8cd442c',
    )
    expect(truncateMac(fromHex('000102030405060708090a0b0c0d0e0f'))).toEqual(
      Uint8Array.of(1, 3, 5, 7, 9, 11, 13, 15),
    )
  })
})
