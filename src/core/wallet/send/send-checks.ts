// Checks on what the owner typed before anything is built: the address (its network and its
// checksum, BIP173/BIP350 for bech32/bech32m, Base58Check for the older ones), the amount
// (dust, balance) and the fee rate (the node's minimum relay rate; "absurdly high" needs a
// confirmation). Each refusal is a FlashError with a sentence the owner can act on.
import { address as baddress, networks, type Network } from 'bitcoinjs-lib'
import { FlashError } from '../../errors'
import { dustThreshold } from './weights'
import { formatSat } from './send-plan'

export type ChainName = 'bitcoin' | 'testnet' | 'signet' | 'regtest'

export function bitcoinjsNetwork(chain: ChainName): Network {
  if (chain === 'bitcoin') return networks.bitcoin
  if (chain === 'regtest') return networks.regtest
  return networks.testnet
}

const chainWords: Record<ChainName, string> = {
  bitcoin: 'mainnet',
  testnet: 'testnet',
  signet: 'signet',
  regtest: 'regtest',
}

/** Which network an address prefix or version byte belongs to, for the wrong-network sentence. */
function networkOfPrefix(prefix: string): string | undefined {
  if (prefix === 'bc') return 'mainnet'
  if (prefix === 'tb') return 'testnet or signet'
  if (prefix === 'bcrt') return 'regtest'
  return undefined
}
function networkOfVersion(version: number): string | undefined {
  if (version === 0x00 || version === 0x05) return 'mainnet'
  if (version === 0x6f || version === 0xc4) return 'testnet, signet or regtest'
  return undefined
}

function wrongNetwork(addr: string, its: string | undefined, chain: ChainName): FlashError {
  return new FlashError(
    'wallet.address-wrong-network',
    `The address ${shorten(addr)} is ${its ? `a ${its}` : 'for another'} address, but this box runs on ${chainWords[chain]}. Sending there would lose the coins.`,
    `Ask the recipient for a ${chainWords[chain]} address.`,
  )
}

function shorten(addr: string): string {
  return addr.length > 20 ? `${addr.slice(0, 10)}…${addr.slice(-6)}` : addr
}

/** Parses an address for `chain`; returns its output script. */
export function parseAddress(
  input: string,
  chain: ChainName,
): { address: string; script: Uint8Array } {
  const addr = input.trim()
  const network = bitcoinjsNetwork(chain)
  if (addr === '') {
    throw new FlashError(
      'wallet.address-missing',
      'The address is empty.',
      'Paste the address you want to pay.',
    )
  }
  const looksBech32 = /^(bc|tb|bcrt)1/i.test(addr)
  if (looksBech32) {
    let decoded: ReturnType<typeof baddress.fromBech32>
    try {
      decoded = baddress.fromBech32(addr)
    } catch {
      if (addr !== addr.toLowerCase() && addr !== addr.toUpperCase()) {
        throw new FlashError(
          'wallet.address-invalid',
          'This address mixes upper- and lower-case letters, which a valid address never does.',
          'Copy the address again from the recipient.',
        )
      }
      throw new FlashError(
        'wallet.address-bad-checksum',
        `The address ${shorten(addr)} has a typo: its checksum does not match its characters.`,
        'Copy the address again from the recipient rather than typing it; check it character by character.',
      )
    }
    if (decoded.prefix !== network.bech32) {
      throw wrongNetwork(addr, networkOfPrefix(decoded.prefix), chain)
    }
  } else if (/^[1-9A-HJ-NP-Za-km-z]{25,40}$/.test(addr)) {
    let decoded: ReturnType<typeof baddress.fromBase58Check>
    try {
      decoded = baddress.fromBase58Check(addr)
    } catch {
      throw new FlashError(
        'wallet.address-bad-checksum',
        `The address ${shorten(addr)} has a typo: its checksum does not match its characters.`,
        'Copy the address again from the recipient rather than typing it; check it character by character.',
      )
    }
    if (decoded.version !== network.pubKeyHash && decoded.version !== network.scriptHash) {
      throw wrongNetwork(addr, networkOfVersion(decoded.version), chain)
    }
  } else {
    throw new FlashError(
      'wallet.address-invalid',
      `“${shorten(addr)}” is not a Bitcoin address.`,
      'A Bitcoin address starts with bc1, 1 or 3 on mainnet (tb1/bcrt1, m, n or 2 on test networks).',
    )
  }
  try {
    return { address: addr, script: baddress.toOutputScript(addr, network) }
  } catch {
    throw new FlashError(
      'wallet.address-invalid',
      `The address ${shorten(addr)} uses a kind of output this wallet cannot pay to.`,
      'Ask the recipient for a different address (one starting with bc1q or bc1p is best).',
    )
  }
}

/** An amount for one output: a whole number of sat above the address's dust limit. */
export function checkAmount(amountSat: number, script: Uint8Array, addr: string): void {
  if (!Number.isSafeInteger(amountSat) || amountSat <= 0) {
    throw new FlashError(
      'wallet.amount-invalid',
      'The amount must be a whole number of sat greater than zero.',
      'Type the amount in sat (100,000,000 sat = 1 BTC).',
    )
  }
  const dust = dustThreshold(script)
  if (amountSat < dust) {
    throw new FlashError(
      'wallet.amount-dust',
      `${formatSat(amountSat)} to ${shorten(addr)} is below ${formatSat(dust)}, the smallest amount the network relays to this kind of address ("dust").`,
      `Send at least ${formatSat(dust)}.`,
    )
  }
}

/** Refuses amounts that add up to more than the spendable balance, before coin selection. */
export function checkBalance(totalSat: number, spendableSat: number): void {
  if (totalSat > spendableSat) {
    throw new FlashError(
      'wallet.amount-over-balance',
      `You asked to send ${formatSat(totalSat)}, but the wallet can spend ${formatSat(spendableSat)}.`,
      'Lower the amount, or use Send max. Frozen coins and coins held by unsent transactions are not counted.',
    )
  }
}

/** Above this, the owner must confirm the fee rate explicitly. */
export function absurdFeeRateThreshold(fastestSatPerKvb: number | undefined): number {
  // 10 × the fastest estimate, and never less than 200 sat/vB.
  return Math.max(200_000, (fastestSatPerKvb ?? 0) * 10)
}

/** Bitcoin Core's default -maxfeerate for sendrawtransaction: 0.10 BTC/kvB. */
export const NODE_MAX_FEE_RATE_SAT_PER_KVB = 10_000_000

export function satPerVb(satPerKvb: number): string {
  const v = satPerKvb / 1000
  return `${Number.isInteger(v) ? v : v.toFixed(v < 1 ? 3 : 1).replace(/0+$/, '')} sat/vB`
}

export function checkFeeRate(opts: {
  satPerKvb: number
  minRelaySatPerKvb: number
  fastestSatPerKvb?: number
  confirmedHighFee?: boolean
}): { needsConfirmation: boolean } {
  const { satPerKvb, minRelaySatPerKvb } = opts
  if (!Number.isFinite(satPerKvb) || satPerKvb <= 0) {
    throw new FlashError(
      'wallet.fee-rate-invalid',
      'The fee rate must be a number of sat/vB greater than zero.',
      'Pick one of the fee presets or type a rate such as 2.',
    )
  }
  if (satPerKvb < minRelaySatPerKvb) {
    throw new FlashError(
      'wallet.fee-rate-below-minimum',
      `A fee rate of ${satPerVb(satPerKvb)} is below ${satPerVb(minRelaySatPerKvb)}, the lowest rate your Bitcoin node relays. The transaction would never be sent.`,
      `Choose at least ${satPerVb(minRelaySatPerKvb)}.`,
    )
  }
  if (satPerKvb > NODE_MAX_FEE_RATE_SAT_PER_KVB) {
    throw new FlashError(
      'wallet.fee-rate-too-high',
      `A fee rate of ${satPerVb(satPerKvb)} is above ${satPerVb(NODE_MAX_FEE_RATE_SAT_PER_KVB)}, the most your Bitcoin node lets a transaction pay.`,
      'Choose a much lower fee rate; the presets show what the network needs now.',
    )
  }
  const threshold = absurdFeeRateThreshold(opts.fastestSatPerKvb)
  const needsConfirmation = satPerKvb > threshold
  if (needsConfirmation && opts.confirmedHighFee === false) {
    throw new FlashError(
      'wallet.fee-rate-needs-confirmation',
      `A fee rate of ${satPerVb(satPerKvb)} is unusually high (above ${satPerVb(threshold)}).`,
      'If you really mean it, tick “I want to pay this fee” on the review screen.',
    )
  }
  return { needsConfirmation }
}
