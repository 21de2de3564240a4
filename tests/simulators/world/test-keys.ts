// SIMULATOR — test-only. Deterministic regtest keys that receive coins on the simulated chain
// (chain.ts) only through real transactions, and sign spends of them: P2WPKH, P2TR key path,
// P2SH-P2WPKH and P2PKH. No side doors: `fundedKey` mines a coinbase to the key and buries it
// under 100 blocks, exactly as a regtest wallet is funded.
//
//   const alice = TestKey.fromLabel('alice')
//   const coin = fundedKey(chain, alice)                 // a mature 50 BTC coinbase output
//   const tx = alice.spend([coin], [{ script: bob.p2wpkh().output, value: 1_000_000n }], 2)
//   chain.submit(tx)
import { createHash } from 'node:crypto'
import {
  crypto as bcrypto,
  initEccLib,
  payments,
  script as bscript,
  Transaction,
} from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { type Chain, REGTEST } from './chain'

export type ScriptType = 'p2wpkh' | 'p2tr' | 'p2sh-p2wpkh' | 'p2pkh'

/** An output the key can spend. */
export interface SpendableCoin {
  readonly txid: string
  readonly vout: number
  readonly value: bigint
  readonly script: Uint8Array
}

export interface Payment {
  readonly script: Uint8Array
  readonly value: bigint
}

initEccLib(ecc)

const sha256 = (b: Uint8Array | string): Uint8Array => createHash('sha256').update(b).digest()

export class TestKey {
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
  readonly xOnly: Uint8Array

  constructor(privateKey: Uint8Array) {
    if (!ecc.isPrivate(privateKey)) throw new Error('not a valid secp256k1 private key')
    this.privateKey = privateKey
    this.publicKey = ecc.pointFromScalar(privateKey, true)!
    this.xOnly = this.publicKey.subarray(1, 33)
  }

  /** The same key for the same label in every run: sha256("flashbox-world/<label>"). */
  static fromLabel(label: string): TestKey {
    return new TestKey(sha256(`flashbox-world/${label}`))
  }

  p2wpkh(): { output: Uint8Array; address: string } {
    const p = payments.p2wpkh({ pubkey: this.publicKey, network: REGTEST })
    return { output: p.output!, address: p.address! }
  }

  p2pkh(): { output: Uint8Array; address: string } {
    const p = payments.p2pkh({ pubkey: this.publicKey, network: REGTEST })
    return { output: p.output!, address: p.address! }
  }

  p2shP2wpkh(): { output: Uint8Array; address: string; redeem: Uint8Array } {
    const inner = payments.p2wpkh({ pubkey: this.publicKey, network: REGTEST })
    const p = payments.p2sh({ redeem: inner, network: REGTEST })
    return { output: p.output!, address: p.address!, redeem: inner.output! }
  }

  /** BIP86 key-path-only taproot output (tweak with no script tree). */
  p2tr(): { output: Uint8Array; address: string; outputKey: Uint8Array } {
    const tweak = bcrypto.taggedHash('TapTweak', this.xOnly)
    const t = ecc.xOnlyPointAddTweak(this.xOnly, tweak)!
    const output = Uint8Array.from([0x51, 0x20, ...t.xOnlyPubkey])
    const p = payments.p2tr({ output, network: REGTEST })
    return { output, address: p.address!, outputKey: t.xOnlyPubkey }
  }

  output(type: ScriptType): Uint8Array {
    if (type === 'p2wpkh') return this.p2wpkh().output
    if (type === 'p2tr') return this.p2tr().output
    if (type === 'p2pkh') return this.p2pkh().output
    return this.p2shP2wpkh().output
  }

  /** Which of this key's script types `script` is, if any. */
  typeOf(script: Uint8Array): ScriptType | undefined {
    const hex = Buffer.from(script).toString('hex')
    for (const t of ['p2wpkh', 'p2tr', 'p2sh-p2wpkh', 'p2pkh'] as const) {
      if (Buffer.from(this.output(t)).toString('hex') === hex) return t
    }
    return undefined
  }

  /**
   * Signs input `index` of `tx` (SIGHASH_ALL, or SIGHASH_DEFAULT for taproot). `prevouts` are the
   * coins of every input, in input order (BIP341 commits to all of them).
   */
  signInput(tx: Transaction, index: number, prevouts: readonly Payment[], hashType?: number): void {
    const prev = prevouts[index]!
    const type = this.typeOf(prev.script)
    if (!type) throw new Error(`input ${index} is not an output of this key`)
    if (type === 'p2tr') {
      const ht = hashType ?? Transaction.SIGHASH_DEFAULT
      const hash = tx.hashForWitnessV1(
        index,
        prevouts.map((p) => p.script),
        prevouts.map((p) => p.value),
        ht,
      )
      const sig = ecc.signSchnorr(hash, this.tweakedPrivateKey(), sha256(hash))
      tx.setWitness(index, [
        ht === Transaction.SIGHASH_DEFAULT ? sig : Uint8Array.from([...sig, ht]),
      ])
      return
    }
    const ht = hashType ?? Transaction.SIGHASH_ALL
    const p2pkhCode = payments.p2pkh({ pubkey: this.publicKey }).output!
    if (type === 'p2pkh') {
      const hash = tx.hashForSignature(index, prev.script, ht)
      tx.setInputScript(index, bscript.compile([this.der(hash, ht), this.publicKey]))
      return
    }
    const hash = tx.hashForWitnessV0(index, p2pkhCode, prev.value, ht)
    tx.setWitness(index, [this.der(hash, ht), this.publicKey])
    if (type === 'p2sh-p2wpkh')
      tx.setInputScript(index, bscript.compile([this.p2shP2wpkh().redeem]))
  }

  /** A DER signature with its hash-type byte, low-S (as Core's signer makes them). */
  der(hash: Uint8Array, hashType: number): Uint8Array {
    return bscript.signature.encode(ecc.sign(hash, this.privateKey), hashType)
  }

  private tweakedPrivateKey(): Uint8Array {
    const even = this.publicKey[0] === 2
    const priv = even ? this.privateKey : ecc.privateNegate(this.privateKey)
    return ecc.privateAdd(priv, bcrypto.taggedHash('TapTweak', this.xOnly))!
  }

  /**
   * Builds and signs a version-2 transaction spending `coins` (all this key's) to `outputs`, with
   * change back to this key's P2WPKH when above dust, at `feeRate` sat/vB.
   */
  spend(
    coins: readonly SpendableCoin[],
    outputs: readonly Payment[],
    feeRate: number,
    opts: { sequence?: number; locktime?: number; change?: Uint8Array } = {},
  ): Transaction {
    const build = (fee: bigint): Transaction => {
      const tx = new Transaction()
      tx.version = 2
      tx.locktime = opts.locktime ?? 0
      for (const c of coins)
        tx.addInput(Buffer.from(c.txid, 'hex').reverse(), c.vout, opts.sequence ?? 0xfffffffd)
      for (const o of outputs) tx.addOutput(o.script, o.value)
      const total = coins.reduce((a, c) => a + c.value, 0n)
      const out = outputs.reduce((a, o) => a + o.value, 0n)
      const change = total - out - fee
      if (change < 0n) throw new Error(`not enough funds: have ${total}, need ${out + fee}`)
      if (change >= 330n) tx.addOutput(opts.change ?? this.p2wpkh().output, change)
      const prevouts = coins.map((c) => ({ script: c.script, value: c.value }))
      for (let i = 0; i < coins.length; i++) this.signInput(tx, i, prevouts)
      return tx
    }
    let tx = build(0n)
    for (let i = 0; i < 3; i++) {
      const fee = BigInt(Math.ceil(tx.virtualSize() * feeRate))
      tx = build(fee)
    }
    return tx
  }
}

/**
 * Mines one block paying its coinbase to `key` (P2WPKH unless `type` says otherwise), then 100
 * blocks to an unspendable script so the coinbase is mature. Returns the coinbase output.
 */
export function fundedKey(chain: Chain, key: TestKey, type: ScriptType = 'p2wpkh'): SpendableCoin {
  const script = key.output(type)
  const [hash] = chain.mine(1, script)
  const cb = chain.blockAt(hash!)!.block.transactions![0]!
  chain.mine(100, BURN_SCRIPT)
  return { txid: cb.getId(), vout: 0, value: cb.outs[0]!.value, script }
}

/** OP_RETURN: coinbase rewards that nobody in the test can spend. */
export const BURN_SCRIPT = Uint8Array.from([0x6a])
