// SIMULATOR — test-only. A deterministic block-header chain shared by the bitcoind and electrs
// simulators: real 80-byte Bitcoin headers (BIP-less, see the Bitcoin developer reference "Block
// Headers"), linked by double-SHA256 hashes, starting at the network's real genesis block, so
// clients that parse or hash headers see genuine data. No proof of work is checked or produced.
import { createHash } from 'node:crypto'

export type SimulatedNetwork = 'mainnet' | 'testnet4' | 'signet' | 'regtest'

export interface SimulatedHeader {
  readonly height: number
  /** Display order (big-endian) hex, as RPCs show it. */
  readonly hash: string
  readonly previousHash: string | null
  readonly merkleRoot: string
  readonly version: number
  readonly time: number
  readonly bits: number
  readonly nonce: number
  /** The raw 80-byte header, hex. */
  readonly hex: string
  /** Transactions in this block (simulated; grows with height like the real chain). */
  readonly txCount: number
}

interface Genesis {
  version: number
  merkleRoot: string
  time: number
  bits: number
  nonce: number
}

// The real genesis headers (Bitcoin Core chainparams.cpp); their hashes are checked in tests.
const BITCOIN_GENESIS_MERKLE = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b'
const GENESIS: Record<SimulatedNetwork, Genesis> = {
  mainnet: {
    version: 1,
    merkleRoot: BITCOIN_GENESIS_MERKLE,
    time: 1231006505,
    bits: 0x1d00ffff,
    nonce: 2083236893,
  },
  regtest: {
    version: 1,
    merkleRoot: BITCOIN_GENESIS_MERKLE,
    time: 1296688602,
    bits: 0x207fffff,
    nonce: 2,
  },
  signet: {
    version: 1,
    merkleRoot: BITCOIN_GENESIS_MERKLE,
    time: 1598918400,
    bits: 0x1e0377ae,
    nonce: 52613770,
  },
  testnet4: {
    version: 1,
    merkleRoot: '7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e',
    time: 1714777860,
    bits: 0x1d00ffff,
    nonce: 393743547,
  },
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const reverseHex = (hex: string): string => Buffer.from(hex, 'hex').reverse().toString('hex')

function serializeHeader(
  version: number,
  prevHash: string | null,
  merkleRoot: string,
  time: number,
  bits: number,
  nonce: number,
): Buffer {
  const b = Buffer.alloc(80)
  b.writeInt32LE(version, 0)
  if (prevHash) Buffer.from(reverseHex(prevHash), 'hex').copy(b, 4)
  Buffer.from(reverseHex(merkleRoot), 'hex').copy(b, 36)
  b.writeUInt32LE(time, 68)
  b.writeUInt32LE(bits, 72)
  b.writeUInt32LE(nonce, 76)
  return b
}

export interface SimulatedChainOptions {
  readonly network: SimulatedNetwork
  /** Height of the best header known at start. */
  readonly tipHeight: number
  /** Seconds between blocks (600 on mainnet). The tip header's time is about "now". */
  readonly blockIntervalSec?: number
  readonly now?: () => number
}

/** Headers up to `tipHeight`; `extend()` appends new blocks (mining, in regtest terms). */
export class SimulatedChain {
  readonly network: SimulatedNetwork
  private readonly headers: SimulatedHeader[] = []
  private readonly byHash = new Map<string, SimulatedHeader>()
  private cumulativeTx: number[] = []
  private readonly interval: number
  private readonly now: () => number

  constructor(opts: SimulatedChainOptions) {
    this.network = opts.network
    this.interval = opts.blockIntervalSec ?? 600
    this.now = opts.now ?? (() => Date.now())
    const g = GENESIS[opts.network]
    this.push(g.version, g.merkleRoot, g.time, g.bits, g.nonce, 1)
    const nowSec = Math.floor(this.now() / 1000)
    const start = Math.max(g.time + 1, nowSec - opts.tipHeight * this.interval)
    for (let h = 1; h <= opts.tipHeight; h++) this.append(start + (h - 1) * this.interval)
  }

  get tipHeight(): number {
    return this.headers.length - 1
  }

  get tip(): SimulatedHeader {
    return this.headers[this.headers.length - 1]!
  }

  at(height: number): SimulatedHeader | undefined {
    return Number.isInteger(height) ? this.headers[height] : undefined
  }

  byBlockHash(hash: string): SimulatedHeader | undefined {
    return this.byHash.get(hash.toLowerCase())
  }

  /** Transactions in blocks 0..height: bitcoind's verificationprogress is tx-weighted. */
  txTotal(height: number): number {
    return this.cumulativeTx[Math.min(Math.max(height, 0), this.tipHeight)] ?? 0
  }

  /** Median of the previous 11 block times (BIP 113). */
  medianTime(height: number): number {
    const times: number[] = []
    for (let h = Math.max(0, height - 10); h <= height; h++) times.push(this.headers[h]!.time)
    times.sort((a, b) => a - b)
    return times[Math.floor(times.length / 2)]!
  }

  /** Appends `count` new blocks with current timestamps; returns them. */
  extend(count: number): SimulatedHeader[] {
    const out: SimulatedHeader[] = []
    for (let i = 0; i < count; i++) {
      const t = Math.max(this.tip.time + 1, Math.floor(this.now() / 1000))
      out.push(this.append(t))
    }
    return out
  }

  private append(time: number): SimulatedHeader {
    const height = this.headers.length
    const merkleRoot = sha256(Buffer.from(`SIMULATOR ${this.network} block ${height}`)).toString(
      'hex',
    )
    // Real blocks carry more transactions as the chain grows; this makes IBD progress non-linear.
    const txCount = 1 + Math.floor(height / 50)
    return this.push(0x20000000, merkleRoot, time, GENESIS[this.network].bits, height, txCount)
  }

  private push(
    version: number,
    merkleRoot: string,
    time: number,
    bits: number,
    nonce: number,
    txCount: number,
  ): SimulatedHeader {
    const height = this.headers.length
    const prev = height === 0 ? null : this.headers[height - 1]!.hash
    const raw = serializeHeader(version, prev, merkleRoot, time, bits, nonce)
    const hash = sha256(sha256(raw)).reverse().toString('hex')
    const header: SimulatedHeader = {
      height,
      hash,
      previousHash: prev,
      merkleRoot,
      version,
      time,
      bits,
      nonce,
      hex: raw.toString('hex'),
      txCount,
    }
    this.headers.push(header)
    this.byHash.set(hash, header)
    this.cumulativeTx.push((this.cumulativeTx[height - 1] ?? 0) + txCount)
    return header
  }
}

/** Difficulty from compact bits, relative to the mainnet minimum (bitcoind's GetDifficulty). */
export function difficultyFromBits(bits: number): number {
  let shift = (bits >>> 24) & 0xff
  let diff = 0x0000ffff / (bits & 0x00ffffff)
  while (shift < 29) {
    diff *= 256
    shift++
  }
  while (shift > 29) {
    diff /= 256
    shift--
  }
  return diff
}
