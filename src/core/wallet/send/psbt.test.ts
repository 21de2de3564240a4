// PSBT reading: BIP174 base64/hex/binary, BIP370 version 2 converted to the same v0 PSBT, and
// plain refusals for what is not a PSBT.
import { networks, payments, Psbt } from 'bitcoinjs-lib'
import { describe, expect, it } from 'vitest'
import { decodePsbt, toV2 } from './psbt'

function sample(): Psbt {
  const p = new Psbt({ network: networks.regtest })
  p.setVersion(2)
  p.setLocktime(120)
  const script = payments.p2wpkh({
    hash: new Uint8Array(20).fill(1),
    network: networks.regtest,
  }).output!
  p.addInput({
    hash: 'aa'.repeat(32),
    index: 3,
    sequence: 0xfffffffd,
    witnessUtxo: { script, value: 50_000n },
  })
  p.addInput({
    hash: 'bb'.repeat(32),
    index: 0,
    sequence: 0xfffffffd,
    witnessUtxo: { script, value: 70_000n },
  })
  p.addOutput({ script, value: 100_000n })
  p.addOutput({ script: Uint8Array.from([0x6a, 0x01, 0x02]), value: 0n })
  return p
}

describe('decodePsbt', () => {
  it('reads base64, hex and the binary file alike', () => {
    const p = sample()
    for (const form of [p.toBase64(), p.toHex(), p.toBuffer()]) {
      expect(decodePsbt(form, networks.regtest).toBase64()).toBe(p.toBase64())
    }
  })
  it('converts BIP370 version 2 to the same version 0 PSBT', () => {
    const p = sample()
    const v2 = toV2(p)
    expect(Buffer.from(v2).toString('hex')).not.toBe(p.toHex())
    const back = decodePsbt(Buffer.from(v2).toString('base64'), networks.regtest)
    expect(back.toBase64()).toBe(p.toBase64())
    expect(back.locktime).toBe(120)
    expect(back.txInputs.map((i) => i.index)).toEqual([3, 0])
  })
  it('refuses what is not a PSBT, and other versions, in words', () => {
    expect(() => decodePsbt('hello', networks.regtest)).toThrow(/^This is not a PSBT/)
    const bad = Buffer.from(sample().toBuffer())
    expect(() => decodePsbt(bad.subarray(0, 20), networks.regtest)).toThrow(/damaged or incomplete/)
  })
})
