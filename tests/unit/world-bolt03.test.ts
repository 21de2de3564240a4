// The channel scripts the world LND simulator puts on chain, against BOLT 3's own test vectors
// (03-transactions.md, Appendix C "simple commitment tx with no HTLCs", commitment number 42).
import { describe, expect, it } from 'vitest'
import * as bitcoin from 'bitcoinjs-lib'
import {
  commitmentTransaction,
  fundingWitnessScript,
  obscuredCommitmentNumber,
  toLocalWitnessScript,
} from '../simulators/world/bolt03'

const hex = (s: string) => Buffer.from(s, 'hex')
const V = {
  localFunding: '023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb',
  remoteFunding: '030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1',
  fundingWscript:
    '5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae',
  localPaymentBasepoint: '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa',
  remotePaymentBasepoint: '032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991',
  revocation: '0212a140cd0c6539d07cd08dfe09984dec3251ea808b892efeac3ede9402bf2b19',
  delayed: '03fd5960528dc152014952efdb702a88f71e3c1653b2314431701ec77e57fde83c',
  remotekey: '0394854aa6eab5b2a8122cc726e9dded053a2184d88256816826d6231c068d4a5b',
  toLocalWscript:
    '63210212a140cd0c6539d07cd08dfe09984dec3251ea808b892efeac3ede9402bf2b1967029000b2752103fd5960528dc152014952efdb702a88f71e3c1653b2314431701ec77e57fde83c68ac',
  // Unsigned part of "output commit_tx" (version, input, sequence, both outputs).
  commitPrefix:
    '0200000001bef67e4e2fb9ddeeb3461973cd4c62abb35050b1add772995b820b584a488489000000000038b02b8002c0c62d0000000000160014ccf1af2f2aabee14bb40fa3851ab2301de84311054a56a00000000002200204adb4e2f00643db396dd120d4e7dc17625f5f2c11a40d857accc862d6b7dd8',
}

describe('BOLT 3 scripts (world LND SIMULATOR)', () => {
  it('funding output: 2-of-2 with the keys in lexicographic order, either way round', () => {
    expect(
      Buffer.from(fundingWitnessScript(hex(V.localFunding), hex(V.remoteFunding))).toString('hex'),
    ).toBe(V.fundingWscript)
    expect(
      Buffer.from(fundingWitnessScript(hex(V.remoteFunding), hex(V.localFunding))).toString('hex'),
    ).toBe(V.fundingWscript)
  })

  it('to_local script with to_self_delay 144', () => {
    expect(
      Buffer.from(toLocalWitnessScript(hex(V.revocation), 144, hex(V.delayed))).toString('hex'),
    ).toBe(V.toLocalWscript)
  })

  it('obscured commitment number = 0x2bb038521914 ^ 42', () => {
    expect(
      obscuredCommitmentNumber(hex(V.localPaymentBasepoint), hex(V.remotePaymentBasepoint), 42),
    ).toBe(0x2bb038521914n ^ 42n)
  })

  it('the commitment transaction matches the vector: sequence, BIP 69 outputs, locktime', () => {
    const { tx, toLocalVout, toRemoteVout } = commitmentTransaction(
      {
        fundingTxid: Buffer.from(
          hex('bef67e4e2fb9ddeeb3461973cd4c62abb35050b1add772995b820b584a488489'),
        )
          .reverse()
          .toString('hex'),
        fundingVout: 0,
        dustLimitSat: 546n,
        toLocal: {
          sat: 6_989_140n,
          revocationKey: hex(V.revocation),
          delayedKey: hex(V.delayed),
          toSelfDelay: 144,
        },
        toRemote: { sat: 3_000_000n, paymentKey: hex(V.remotekey) },
        obscuredNumber: obscuredCommitmentNumber(
          hex(V.localPaymentBasepoint),
          hex(V.remotePaymentBasepoint),
          42,
        ),
      },
      bitcoin.networks.regtest,
    )
    expect(tx.toHex().startsWith(V.commitPrefix)).toBe(true)
    expect(tx.locktime).toBe(542251326) // 0x20 << 24 | lower 24 bits of the obscured number
    expect([toRemoteVout, toLocalVout]).toEqual([0, 1])
  })

  it('dust outputs are trimmed', () => {
    const { tx, toRemoteVout } = commitmentTransaction(
      {
        fundingTxid: '00'.repeat(32),
        fundingVout: 0,
        dustLimitSat: 546n,
        toLocal: {
          sat: 1_000_000n,
          revocationKey: hex(V.revocation),
          delayedKey: hex(V.delayed),
          toSelfDelay: 144,
        },
        toRemote: { sat: 545n, paymentKey: hex(V.remotekey) },
        obscuredNumber: 0n,
      },
      bitcoin.networks.regtest,
    )
    expect(tx.outs).toHaveLength(1)
    expect(toRemoteVout).toBe(-1)
  })
})
