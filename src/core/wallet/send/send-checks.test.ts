// Each bad input of issue 11 item 7 gets its own sentence.
import { describe, expect, it } from 'vitest'
import { address, networks, payments } from 'bitcoinjs-lib'
import { checkAmount, checkBalance, checkFeeRate, parseAddress } from './send-checks'
import { dustThreshold } from './weights'
import { etaForRate, etaWords, feeRates } from './fee-rates'

const hash20 = new Uint8Array(20).fill(7)
const regtestWpkh = payments.p2wpkh({ hash: hash20, network: networks.regtest }).address!
const mainWpkh = payments.p2wpkh({ hash: hash20, network: networks.bitcoin }).address!
const testPkh = payments.p2pkh({ hash: hash20, network: networks.testnet }).address!
const mainPkh = payments.p2pkh({ hash: hash20, network: networks.bitcoin }).address!

function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f()
  } catch (e) {
    return e as { code: string; message: string }
  }
  throw new Error('not refused')
}

describe('addresses', () => {
  it('accepts an address of this network and returns its script', () => {
    const r = parseAddress(` ${regtestWpkh} `, 'regtest')
    expect(r.script).toEqual(address.toOutputScript(regtestWpkh, networks.regtest))
    expect(parseAddress(testPkh, 'regtest').address).toBe(testPkh)
  })
  it('refuses another network by name', () => {
    const e = refusal(() => parseAddress(mainWpkh, 'regtest'))
    expect(e.code).toBe('wallet.address-wrong-network')
    expect(e.message).toMatch(/is a mainnet address, but this box runs on regtest/)
    expect(refusal(() => parseAddress(mainPkh, 'testnet')).message).toMatch(/mainnet address/)
    expect(refusal(() => parseAddress(regtestWpkh, 'bitcoin')).message).toMatch(
      /regtest address, but this box runs on mainnet/,
    )
  })
  it('refuses a bad checksum (one character changed)', () => {
    const typo = regtestWpkh.slice(0, -1) + (regtestWpkh.endsWith('q') ? 'p' : 'q')
    expect(refusal(() => parseAddress(typo, 'regtest'))).toMatchObject({
      code: 'wallet.address-bad-checksum',
      message: expect.stringMatching(/has a typo: its checksum does not match/),
    })
    const b58typo = testPkh.slice(0, -1) + (testPkh.endsWith('1') ? '2' : '1')
    expect(refusal(() => parseAddress(b58typo, 'regtest')).code).toBe('wallet.address-bad-checksum')
  })
  it('refuses what is not an address', () => {
    expect(refusal(() => parseAddress('hello world', 'regtest')).message).toMatch(
      /is not a Bitcoin address/,
    )
    expect(refusal(() => parseAddress('', 'regtest')).code).toBe('wallet.address-missing')
  })
})

describe('amounts', () => {
  const script = address.toOutputScript(regtestWpkh, networks.regtest)
  it('dust thresholds match Bitcoin Core (294 P2WPKH, 330 P2TR, 546 P2PKH)', () => {
    expect(dustThreshold(script)).toBe(294)
    expect(dustThreshold(new Uint8Array([0x51, 0x20, ...new Uint8Array(32)]))).toBe(330)
    expect(dustThreshold(address.toOutputScript(testPkh, networks.testnet))).toBe(546)
  })
  it('refuses dust, zero and fractions', () => {
    expect(refusal(() => checkAmount(293, script, regtestWpkh))).toMatchObject({
      code: 'wallet.amount-dust',
      message: expect.stringMatching(/^293 sat to .* is below 294 sat/),
    })
    expect(() => checkAmount(294, script, regtestWpkh)).not.toThrow()
    expect(refusal(() => checkAmount(0, script, regtestWpkh)).code).toBe('wallet.amount-invalid')
    expect(refusal(() => checkAmount(1.5, script, regtestWpkh)).code).toBe('wallet.amount-invalid')
  })
  it('refuses more than the balance', () => {
    expect(refusal(() => checkBalance(100_001, 100_000)).message).toBe(
      'You asked to send 100,001 sat, but the wallet can spend 100,000 sat.',
    )
  })
})

describe('fee rates', () => {
  it('refuses below the minimum relay rate, and above the node maximum', () => {
    expect(refusal(() => checkFeeRate({ satPerKvb: 50, minRelaySatPerKvb: 100 })).message).toMatch(
      /^A fee rate of 0.05 sat\/vB is below 0.1 sat\/vB, the lowest rate your Bitcoin node relays/,
    )
    expect(
      refusal(() => checkFeeRate({ satPerKvb: 20_000_000, minRelaySatPerKvb: 100 })).code,
    ).toBe('wallet.fee-rate-too-high')
  })
  it('asks for confirmation above 10× the fastest estimate (at least 200 sat/vB)', () => {
    expect(
      checkFeeRate({ satPerKvb: 150_000, minRelaySatPerKvb: 100, fastestSatPerKvb: 5000 }),
    ).toEqual({
      needsConfirmation: false,
    })
    expect(
      checkFeeRate({ satPerKvb: 250_000, minRelaySatPerKvb: 100, fastestSatPerKvb: 5000 }),
    ).toEqual({
      needsConfirmation: true,
    })
    expect(
      refusal(() =>
        checkFeeRate({
          satPerKvb: 250_000,
          minRelaySatPerKvb: 100,
          fastestSatPerKvb: 5000,
          confirmedHighFee: false,
        }),
      ).message,
    ).toMatch(/is unusually high \(above 200 sat\/vB\)/)
  })
  it('presets from estimatefee, never faster-is-cheaper, with words for time', async () => {
    const est = { 1: 0.0002, 6: 0.0001, 24: -1, 144: 0.00001 } as Record<number, number>
    const rates = await feeRates({
      estimateFee: async (n) => est[n]!,
      relayFee: async () => 0.000001,
    })
    expect(rates.presets.map((p) => [p.id, p.satPerKvb, p.estimated, p.eta])).toEqual([
      ['fastest', 20_000, true, 'about 10 minutes'],
      ['normal', 10_000, true, 'about 1 hour'],
      ['slow', 1000, false, 'about 4 hours'],
      ['economy', 1000, true, 'about a day'],
    ])
    expect(rates.minRelaySatPerKvb).toBe(100)
    expect(rates.note).toMatch(/not seen enough blocks/)
    expect(etaForRate(12_000, rates)).toBe('about 1 hour')
    expect(etaForRate(500, rates)).toMatch(/more than a day/)
    expect(etaWords(3)).toBe('about 30 minutes')
  })
})
