import * as bitcoin from 'bitcoinjs-lib'
import { describe, expect, it } from 'vitest'
import { readTransaction, transactionId, transactionOutputs } from './txid'

/** A transaction with `ins` inputs and `outs` outputs; scripts of the given lengths. */
function makeTx(opts: { ins: number; outs: number; scriptLen: number; witness: boolean }) {
  const tx = new bitcoin.Transaction()
  tx.version = 2
  tx.locktime = 0x01020304
  for (let i = 0; i < opts.ins; i++) {
    tx.addInput(Buffer.alloc(32, i + 1), i, 0xfffffffd, Buffer.alloc(opts.scriptLen, 0x51))
    if (opts.witness) tx.setWitness(i, [Buffer.alloc(72, 0x30), Buffer.alloc(33, 0x02)])
  }
  for (let o = 0; o < opts.outs; o++)
    tx.addOutput(Buffer.alloc(opts.scriptLen + o, 0x6a), BigInt(1000 + o))
  return tx
}

describe('transactionId (BIP144)', () => {
  it('equals bitcoinjs-lib getId for witness and legacy transactions', () => {
    for (const witness of [true, false])
      for (const [ins, outs, scriptLen] of [
        [1, 1, 22],
        [3, 2, 0],
        [2, 260, 25], // 260 outputs: a 0xfd CompactSize count
        [1, 2, 300], // 300-byte scripts: 0xfd CompactSize lengths
      ] as const) {
        const tx = makeTx({ ins, outs, scriptLen, witness })
        expect(tx.hasWitnesses()).toBe(witness)
        expect(transactionId(tx.toBuffer())).toBe(tx.getId())
      }
  })

  it('leaves the witness out: two witnesses, one id', () => {
    const a = makeTx({ ins: 1, outs: 1, scriptLen: 0, witness: true })
    const b = a.clone()
    b.setWitness(0, [Buffer.alloc(64, 0x01)])
    expect(transactionId(b.toBuffer())).toBe(transactionId(a.toBuffer()))
    expect(Buffer.from(b.getHash(true)).equals(Buffer.from(a.getHash(true)))).toBe(false)
  })

  it('reads the outputs (value and script) as bitcoinjs-lib parses them', () => {
    for (const witness of [true, false])
      for (const [ins, outs, scriptLen] of [
        [1, 1, 22],
        [2, 260, 25],
        [1, 2, 300],
      ] as const) {
        const tx = makeTx({ ins, outs, scriptLen, witness })
        tx.outs[0]!.value = 2_099_999_997_690_000n // above 2^32: the high word counts
        const read = transactionOutputs(tx.toBuffer())
        expect(read.map((o) => [o.valueSat, Buffer.from(o.script).toString('hex')])).toEqual(
          tx.outs.map((o) => [Number(o.value), Buffer.from(o.script).toString('hex')]),
        )
      }
  })

  it('refuses a transaction cut short', () => {
    const raw = makeTx({ ins: 2, outs: 2, scriptLen: 22, witness: true }).toBuffer()
    expect(() => transactionId(raw.subarray(0, 60))).toThrow(RangeError)
    expect(() => transactionId(raw.subarray(0, 8))).toThrow(RangeError)
    expect(() => transactionOutputs(raw.subarray(0, 150))).toThrow(RangeError)
  })
})

describe('readTransaction', () => {
  it('gives the id and the outpoints as bitcoinjs-lib parses them', () => {
    for (const witness of [true, false])
      for (const [ins, outs, scriptLen] of [
        [1, 1, 22],
        [3, 2, 0],
        [300, 1, 25], // 300 inputs: a 0xfd CompactSize count
      ] as const) {
        const tx = makeTx({ ins, outs, scriptLen, witness })
        tx.ins.forEach((input, i) => {
          input.hash = Buffer.from(Array.from({ length: 32 }, (_, k) => (i * 7 + k) & 0xff))
          input.index = i === 0 ? 0xfffffffe : i
        })
        const read = readTransaction(tx.toBuffer())
        expect(read.txid).toBe(tx.getId())
        expect(read.spends).toEqual(
          tx.ins.map((input) => ({
            txid: Buffer.from(input.hash).reverse().toString('hex'),
            vout: input.index,
          })),
        )
      }
  })

  it('says a coinbase spends nothing', () => {
    const cb = new bitcoin.Transaction()
    cb.addInput(Buffer.alloc(32), 0xffffffff, 0xffffffff, Buffer.from('0151', 'hex'))
    cb.addOutput(Buffer.from('51', 'hex'), 50n)
    expect(cb.isCoinbase()).toBe(true)
    expect(readTransaction(cb.toBuffer())).toEqual({ txid: cb.getId(), spends: [] })
  })

  it('refuses what bitcoinjs-lib refuses: cut short, or bytes after the lock time', () => {
    const raw = makeTx({ ins: 2, outs: 2, scriptLen: 22, witness: true }).toBuffer()
    for (const bad of [
      raw.subarray(0, raw.length - 1), // inside the lock time
      raw.subarray(0, raw.length - 40), // inside the witness
      Buffer.concat([raw, Buffer.from([0])]),
    ]) {
      expect(() => bitcoin.Transaction.fromBuffer(bad)).toThrow()
      expect(() => readTransaction(bad)).toThrow(RangeError)
      expect(() => transactionId(bad)).toThrow(RangeError)
    }
  })

  it('reads only the outputs asked for', () => {
    const tx = makeTx({ ins: 1, outs: 5, scriptLen: 22, witness: true })
    const read = transactionOutputs(tx.toBuffer(), new Set([1, 3]))
    expect(Object.keys(read)).toEqual(['1', '3'])
    expect(read[3]!.valueSat).toBe(1003)
    expect(Buffer.from(read[1]!.script)).toEqual(Buffer.from(tx.outs[1]!.script))
  })
})
