// Electrum status hashes, Merkle branches, BIP21 URIs and BIP329 lines.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { bip21Uri, btcStringToSat, parseBip21, satToBtcString } from './bip21'
import { exportBip329, parseBip329 } from './bip329'
import { electrumStatus } from './electrum-status'
import {
  MerkleVerifier,
  merkleRootFromBranch,
  parseHeader,
  verifyMerkleProof,
} from './merkle-proof'

const dsha = (b: Buffer) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()

describe('Electrum status', () => {
  it('is sha256 of tx_hash:height: for each item, null without history', () => {
    const a = 'aa'.repeat(32)
    const b = 'bb'.repeat(32)
    expect(electrumStatus([])).toBeNull()
    expect(
      electrumStatus([
        { tx_hash: a, height: 5 },
        { tx_hash: b, height: -1 },
      ]),
    ).toBe(createHash('sha256').update(`${a}:5:${b}:-1:`).digest('hex'))
  })
})

describe('Merkle proofs', () => {
  // A 3-transaction block: the last leaf is paired with itself.
  const leaves = ['11', '22', '33'].map((x) => x.repeat(32))
  const le = (h: string) => Buffer.from(h, 'hex').reverse()
  const n01 = dsha(Buffer.concat([le(leaves[0]!), le(leaves[1]!)]))
  const n22 = dsha(Buffer.concat([le(leaves[2]!), le(leaves[2]!)]))
  const root = dsha(Buffer.concat([n01, n22]))
  const display = (b: Buffer) => Buffer.from(b).reverse().toString('hex')
  // Regtest-style header: bits 0x207fffff; find a nonce that meets it.
  const header = (merkleRoot: Buffer) => {
    const h = Buffer.alloc(80)
    h.writeUInt32LE(0x20000000, 0)
    merkleRoot.copy(h, 36)
    h.writeUInt32LE(1_700_000_000, 68)
    h.writeUInt32LE(0x207fffff, 72)
    for (let nonce = 0; ; nonce++) {
      h.writeUInt32LE(nonce, 76)
      if (parseHeader(h.toString('hex')).hash < '7fffff') return h.toString('hex')
    }
  }
  const headerHex = header(root)

  it('folds a branch to the header’s merkle root', () => {
    const branch = [leaves[2]!, display(n01)]
    expect(merkleRootFromBranch(leaves[2]!, branch, 2)).toBe(display(root))
    expect(
      verifyMerkleProof({ txid: leaves[2]!, txSize: 200, branch, pos: 2, headerHex }).merkleRoot,
    ).toBe(display(root))
  })

  it('refuses a tampered branch, a wrong position, a 64-byte transaction and a header without work', () => {
    const branch = [leaves[2]!, display(n01)]
    const tampered = [branch[0]!, '00' + branch[1]!.slice(2)]
    expect(() =>
      verifyMerkleProof({ txid: leaves[2]!, txSize: 200, branch: tampered, pos: 2, headerHex }),
    ).toThrow(/does not lead to the block/)
    expect(() =>
      verifyMerkleProof({ txid: leaves[2]!, txSize: 200, branch, pos: 0, headerHex }),
    ).toThrow(/does not lead/)
    expect(() =>
      verifyMerkleProof({ txid: leaves[2]!, txSize: 64, branch, pos: 2, headerHex }),
    ).toThrow(/64-byte/)
    const noWork = headerHex.slice(0, 144) + '00000000' + headerHex.slice(152) // bits → 0
    expect(() =>
      verifyMerkleProof({ txid: leaves[2]!, txSize: 200, branch, pos: 2, headerHex: noWork }),
    ).toThrow(/proof of work/)
  })

  it('refuses a branch proving the duplicated last leaf at a position that does not exist (CVE-2012-2459)', () => {
    // Position 3 of the 3-transaction block is the copy of leaf 2: the same hashes fold to the
    // real root, so only the duplicate check tells the two apart.
    const forged = [leaves[2]!, display(n01)]
    expect(() => merkleRootFromBranch(leaves[2]!, forged, 3)).toThrow(/CVE-2012-2459/)
    expect(() =>
      verifyMerkleProof({ txid: leaves[2]!, txSize: 200, branch: forged, pos: 3, headerHex }),
    ).toThrow(/duplicated copy/)
    const v = new MerkleVerifier()
    // Even after the real position was verified (its sibling, the copy, is not remembered).
    v.verify({ txid: leaves[2]!, txSize: 200, branch: forged, pos: 2, headerHex })
    expect(() =>
      v.verify({ txid: leaves[2]!, txSize: 200, branch: forged, pos: 3, headerHex }),
    ).toThrow(/duplicated copy/)
  })

  it('the batch verifier gives the same answers as one proof at a time', () => {
    const v = new MerkleVerifier()
    const b0 = [leaves[1]!, display(n22)]
    const b1 = [leaves[0]!, display(n22)]
    const b2 = [leaves[2]!, display(n01)]
    expect(
      v.verify({ txid: leaves[0]!, txSize: 200, branch: b0, pos: 0, headerHex }).merkleRoot,
    ).toBe(display(root))
    // Leaf 1 is already known as leaf 0's sibling; a wrong branch above it no longer matters.
    expect(
      v.verify({
        txid: leaves[1]!,
        txSize: 200,
        branch: [leaves[0]!, '00'.repeat(32)],
        pos: 1,
        headerHex,
      }).merkleRoot,
    ).toBe(display(root))
    expect(
      v.verify({ txid: leaves[2]!, txSize: 200, branch: b2, pos: 2, headerHex }).merkleRoot,
    ).toBe(display(root))
    // A transaction at a known position that is not the known node is refused.
    expect(() =>
      v.verify({ txid: '44'.repeat(32), txSize: 200, branch: b1, pos: 1, headerHex }),
    ).toThrow(/does not lead/)
    expect(() =>
      v.verify({ txid: leaves[2]!, txSize: 200, branch: b2, pos: 0, headerHex }),
    ).toThrow(/does not lead/)
    expect(() => v.verify({ txid: leaves[2]!, txSize: 64, branch: b2, pos: 2, headerHex })).toThrow(
      /64-byte/,
    )
    const tampered = [b2[0]!, '00' + b2[1]!.slice(2)]
    expect(() =>
      new MerkleVerifier().verify({
        txid: leaves[2]!,
        txSize: 200,
        branch: tampered,
        pos: 2,
        headerHex,
      }),
    ).toThrow(/does not lead/)
    const noWork = headerHex.slice(0, 144) + '00000000' + headerHex.slice(152)
    expect(() =>
      v.verify({ txid: leaves[2]!, txSize: 200, branch: b2, pos: 2, headerHex: noWork }),
    ).toThrow(/proof of work/)
  })
})

describe('BIP21', () => {
  it('writes amount in BTC and a percent-encoded label, and reads it back', () => {
    const uri = bip21Uri({ address: 'bcrt1qexample', amountSat: 250_000, label: 'Rent & co' })
    expect(uri).toBe('bitcoin:bcrt1qexample?amount=0.0025&label=Rent%20%26%20co')
    expect(parseBip21(uri)).toEqual({
      address: 'bcrt1qexample',
      amountSat: 250_000,
      label: 'Rent & co',
    })
    expect(bip21Uri({ address: 'bcrt1qexample' }, { forQr: true })).toBe('BITCOIN:BCRT1QEXAMPLE')
    expect(parseBip21('BITCOIN:BCRT1QEXAMPLE').address).toBe('bcrt1qexample')
    expect(satToBtcString(1)).toBe('0.00000001')
    expect(satToBtcString(2_100_000_000_000_000)).toBe('21000000')
    expect(btcStringToSat('20.3')).toBe(2_030_000_000)
    expect(() => parseBip21('bitcoin:x?req-somethingnew=1')).toThrow(/does not understand/)
    expect(() => btcStringToSat('1e3')).toThrow(/not a BTC amount/)
  })
})

describe('BIP329', () => {
  it('round-trips records and counts invalid lines', () => {
    const text = exportBip329([
      { type: 'tx', ref: 'aa'.repeat(32), label: 'Rent' },
      { type: 'output', ref: `${'aa'.repeat(32)}:1`, spendable: false },
      { type: 'addr', ref: 'bcrt1qexample', label: 'Shop', origin: "wpkh([d34db33f/84'/1'/0'])" },
    ])
    const parsed = parseBip329(text + '{"type":"unknown","ref":"x"}\nnot json\n')
    expect(parsed.invalid).toBe(2)
    expect(exportBip329(parsed.records)).toBe(text)
  })
})
