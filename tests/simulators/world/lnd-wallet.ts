// SIMULATOR support — test-only. The on-chain wallet of a simulated LND node (the role btcwallet
// plays in LND): BIP 32 keys from the node's seed, BIP 84 P2WPKH receive/change addresses
// (m/84'/coin'/0'/{0,1}/i) and BIP 86 P2TR ones (m/86'/coin'/0'/{0,1}/i, key path), LND-style key
// families for channel keys (m/1017'/coin'/family'/0/i), UTXOs found by scanning the chain's
// blocks and mempool (no side doors: a coin exists only if a transaction created it), coin
// selection, signing with bitcoinjs-lib and broadcast through the chain's policy.
import * as bitcoin from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { BIP32Factory, type BIP32Interface } from 'bip32'
import type { LndChainBackend } from './lnd-chain-backend'

bitcoin.initEccLib(ecc)
const bip32 = BIP32Factory(ecc)

export const COINBASE_MATURITY = 100

export type AddressKind = 'p2wkh' | 'p2tr'

export interface WalletKey {
  readonly path: string
  readonly node: BIP32Interface
  readonly kind: AddressKind
  readonly script: Uint8Array
  readonly address: string
}

export interface WalletTx {
  readonly tx: bitcoin.Transaction
  readonly txid: string
  height: number | null
  blockHash: string
  blockTime: number
  readonly firstSeen: number
  label: string
}

export interface Utxo {
  readonly txid: string
  readonly vout: number
  readonly value: bigint
  readonly key: WalletKey
  readonly confirmations: number
  readonly coinbase: boolean
}

/** LND's "insufficient funds available to construct transaction" and similar, as plain errors. */
export class WalletError extends Error {}

const outpoint = (txid: string, vout: number) => `${txid}:${vout}`
const P2WPKH_INPUT_VB = 68
const P2TR_INPUT_VB = 58
const TX_OVERHEAD_VB = 11

export function outputVbytes(script: Uint8Array): number {
  return 8 + 1 + script.length
}

/** The node identity key LND derives from a seed (key family 6, index 0). */
export function nodePubkeyOf(seed: Uint8Array, network: bitcoin.Network): string {
  const coin = network.bech32 === 'bc' ? 0 : 1
  const k = bip32.fromSeed(seed, network).derivePath(`m/1017'/${coin}'/6'/0/0`)
  return Buffer.from(k.publicKey).toString('hex')
}

export class LndWallet {
  readonly root: BIP32Interface
  private readonly coin: number
  private readonly keys = new Map<string, WalletKey>() // script hex → key
  private readonly nextIndex: Record<string, number> = {}
  readonly txs = new Map<string, WalletTx>()
  private readonly locked = new Map<string, { id: string; expires: number }>()
  private processed: string[] = [] // block hash by height, as far as scanned
  private readonly listeners = new Set<(tx: WalletTx) => void>()
  private readonly stateListeners = new Set<() => void>()
  /** Scripts the node watches beside its own addresses (channel outputs), with a callback. */
  private readonly lookahead = 20

  constructor(
    seed: Uint8Array,
    readonly backend: LndChainBackend,
    private birthHeight: number,
  ) {
    this.root = bip32.fromSeed(seed, backend.network)
    this.coin = backend.network.bech32 === 'bc' ? 0 : 1
    for (const kind of ['p2wkh', 'p2tr'] as const)
      for (const branch of [0, 1]) {
        this.nextIndex[`${kind}/${branch}`] = 0
        for (let i = 0; i < this.lookahead; i++) this.key(kind, branch, i)
      }
    this.processed = []
  }

  get network(): bitcoin.Network {
    return this.backend.network
  }

  private key(kind: AddressKind, branch: number, index: number): WalletKey {
    const purpose = kind === 'p2wkh' ? 84 : 86
    const path = `m/${purpose}'/${this.coin}'/0'/${branch}/${index}`
    const node = this.root.derivePath(path)
    const payment =
      kind === 'p2wkh'
        ? bitcoin.payments.p2wpkh({ pubkey: node.publicKey, network: this.network })
        : bitcoin.payments.p2tr({
            internalPubkey: node.publicKey.subarray(1, 33),
            network: this.network,
          })
    const k: WalletKey = { path, node, kind, script: payment.output!, address: payment.address! }
    this.keys.set(Buffer.from(k.script).toString('hex'), k)
    return k
  }

  /** A fresh address (LND's NewAddress); `change` for the internal branch. */
  newAddress(kind: AddressKind = 'p2wkh', change = false): WalletKey {
    const slot = `${kind}/${change ? 1 : 0}`
    const i = this.nextIndex[slot]!
    this.nextIndex[slot] = i + 1
    this.key(kind, change ? 1 : 0, i + this.lookahead)
    for (const l of this.stateListeners) l()
    return this.key(kind, change ? 1 : 0, i)
  }

  /** What btcwallet keeps in wallet.db beside the seed: its birthday and address indices. */
  persistentState(): { birthHeight: number; nextIndex: Record<string, number> } {
    return { birthHeight: this.birthHeight, nextIndex: { ...this.nextIndex } }
  }

  /** A restarted node: derive the saved address ranges and scan again from the birthday. */
  restoreState(s: { birthHeight: number; nextIndex: Record<string, number> }): void {
    this.birthHeight = s.birthHeight
    for (const [slot, next] of Object.entries(s.nextIndex)) {
      const [kind, branch] = slot.split('/') as [AddressKind, string]
      this.nextIndex[slot] = next
      for (let i = 0; i < next + this.lookahead; i++) this.key(kind, Number(branch), i)
    }
    this.processed = []
    this.txs.clear()
    this.sync()
  }

  onStateChange(cb: () => void): () => void {
    this.stateListeners.add(cb)
    return () => this.stateListeners.delete(cb)
  }

  /** LND key families (keychain/derivation.go): 0 multisig, 1 revocation, 3 payment, 4 delay, 6 node. */
  familyKey(family: number, index: number): BIP32Interface {
    return this.root.derivePath(`m/1017'/${this.coin}'/${family}'/0/${index}`)
  }

  ownsScript(script: Uint8Array): WalletKey | undefined {
    return this.keys.get(Buffer.from(script).toString('hex'))
  }

  onTransaction(cb: (tx: WalletTx) => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  private isRelevant(tx: bitcoin.Transaction): boolean {
    if (tx.outs.some((o) => this.ownsScript(o.script))) return true
    return tx.ins.some((i) => {
      const prev = this.txs.get(Buffer.from(i.hash).reverse().toString('hex'))
      return !!prev && !!this.ownsScript(prev.tx.outs[i.index]!.script)
    })
  }

  private record(tx: bitcoin.Transaction, height: number | null, hash = '', time = 0): void {
    const txid = tx.getId()
    const cur = this.txs.get(txid)
    if (cur) {
      const changed = cur.height !== height
      cur.height = height
      cur.blockHash = hash
      cur.blockTime = time
      if (changed) for (const l of this.listeners) l(cur)
      return
    }
    const w: WalletTx = {
      tx,
      txid,
      height,
      blockHash: hash,
      blockTime: time,
      firstSeen: Math.floor(Date.now() / 1000),
      label: '',
    }
    this.txs.set(txid, w)
    for (const l of this.listeners) l(w)
  }

  /** Catches up with the backend: undoes disconnected blocks, scans new ones and the mempool. */
  sync(): void {
    const tip = this.backend.tipHeight()
    // Reorg: forget blocks that are no longer on the best chain.
    for (;;) {
      const h = this.processed.length - 1
      if (h < 0) break
      const b = h <= tip ? this.backend.block(h) : null
      if (b && b.hash === this.processed[h]) break
      this.processed.pop()
      for (const w of this.txs.values()) if (w.height === h) this.record(w.tx, null)
    }
    if (this.processed.length === 0 && this.birthHeight > 0) {
      // Blocks before the wallet existed cannot hold its coins: skip them.
      for (let h = 0; h < Math.min(this.birthHeight, tip + 1); h++) {
        const b = this.backend.block(h)
        this.processed.push(b ? b.hash : '')
      }
    }
    for (let h = this.processed.length; h <= tip; h++) {
      const b = this.backend.block(h)
      if (!b) break
      for (const tx of b.txs) if (this.isRelevant(tx)) this.record(tx, h, b.hash, b.time)
      this.processed.push(b.hash)
    }
    const inMempool = new Set<string>()
    for (const tx of this.backend.mempool()) {
      inMempool.add(tx.getId())
      if (this.isRelevant(tx)) this.record(tx, null)
    }
    // Unconfirmed transactions the mempool no longer has (replaced, conflicted) are gone.
    for (const [txid, w] of this.txs)
      if (w.height === null && !inMempool.has(txid)) this.txs.delete(txid)
  }

  /** Records a transaction we broadcast (before the mempool event arrives). */
  broadcast(tx: bitcoin.Transaction, label = ''): void {
    this.backend.broadcast(tx)
    this.record(tx, null)
    const w = this.txs.get(tx.getId())
    if (w && label) w.label = label
  }

  confirmations(w: WalletTx): number {
    return w.height === null ? 0 : this.backend.tipHeight() - w.height + 1
  }

  private spent(): Set<string> {
    const s = new Set<string>()
    for (const w of this.txs.values())
      for (const i of w.tx.ins)
        s.add(outpoint(Buffer.from(i.hash).reverse().toString('hex'), i.index))
    return s
  }

  utxos(minConfs = 0, maxConfs = Number.MAX_SAFE_INTEGER): Utxo[] {
    const spent = this.spent()
    const out: Utxo[] = []
    for (const w of this.txs.values()) {
      const confs = this.confirmations(w)
      if (confs < minConfs || confs > maxConfs) continue
      const coinbase = w.tx.isCoinbase()
      w.tx.outs.forEach((o, vout) => {
        const key = this.ownsScript(o.script)
        if (!key || spent.has(outpoint(w.txid, vout))) return
        out.push({ txid: w.txid, vout, value: o.value, key, confirmations: confs, coinbase })
      })
    }
    return out
  }

  spendable(minConfs = 1): Utxo[] {
    const now = Date.now()
    return this.utxos(minConfs).filter(
      (u) =>
        !(u.coinbase && u.confirmations < COINBASE_MATURITY) &&
        !((this.locked.get(outpoint(u.txid, u.vout))?.expires ?? 0) > now),
    )
  }

  balance(): { confirmed: bigint; unconfirmed: bigint; locked: bigint } {
    const now = Date.now()
    let confirmed = 0n
    let unconfirmed = 0n
    let locked = 0n
    for (const u of this.utxos()) {
      if ((this.locked.get(outpoint(u.txid, u.vout))?.expires ?? 0) > now) locked += u.value
      if (u.confirmations === 0 || (u.coinbase && u.confirmations < COINBASE_MATURITY))
        unconfirmed += u.value
      else confirmed += u.value
    }
    return { confirmed, unconfirmed, locked }
  }

  lease(txid: string, vout: number, id: string, seconds = 600): number {
    const expires = Date.now() + seconds * 1000
    this.locked.set(outpoint(txid, vout), { id, expires })
    return Math.floor(expires / 1000)
  }

  release(txid: string, vout: number): void {
    this.locked.delete(outpoint(txid, vout))
  }

  leases(): { txid: string; vout: number; id: string; expires: number }[] {
    const now = Date.now()
    return [...this.locked]
      .filter(([, l]) => l.expires > now)
      .map(([op, l]) => {
        const [txid, vout] = op.split(':')
        return { txid: txid!, vout: Number(vout), id: l.id, expires: Math.floor(l.expires / 1000) }
      })
  }

  /**
   * Picks coins for `outputs` at `satPerVb` (largest first) and adds P2WPKH change above dust.
   * `sendAll` spends every spendable coin to the single output (SendCoins send_all).
   */
  fund(
    outputs: readonly { script: Uint8Array; value: bigint }[],
    satPerVb: number,
    opts: { minConfs?: number; sendAll?: boolean; inputs?: readonly Utxo[] } = {},
  ): { psbt: bitcoin.Psbt; inputs: Utxo[]; fee: bigint; changeVout: number } {
    const pool = opts.inputs
      ? [...opts.inputs]
      : this.spendable(opts.minConfs ?? 1).sort((a, b) => (a.value > b.value ? -1 : 1))
    const target = outputs.reduce((s, o) => s + o.value, 0n)
    const outVb = outputs.reduce((s, o) => s + outputVbytes(o.script), 0)
    const inVb = (u: Utxo) => (u.key.kind === 'p2tr' ? P2TR_INPUT_VB : P2WPKH_INPUT_VB)
    const feeFor = (vb: number) => BigInt(Math.ceil(vb * satPerVb))
    const chosen: Utxo[] = []
    let total = 0n
    let vb = TX_OVERHEAD_VB + outVb
    let changeVout = -1
    const psbt = new bitcoin.Psbt({ network: this.network })
    const finalOutputs = outputs.map((o) => ({ ...o }))
    if (opts.sendAll) {
      if (outputs.length !== 1) throw new WalletError('send all needs exactly one output')
      chosen.push(...pool)
      total = pool.reduce((s, u) => s + u.value, 0n)
      vb += pool.reduce((s, u) => s + inVb(u), 0)
      const fee = feeFor(vb)
      if (total - fee < 330n)
        throw new WalletError('insufficient funds available to construct transaction')
      finalOutputs[0]!.value = total - fee
    } else {
      for (const u of pool) {
        if (total >= target + feeFor(vb)) break
        chosen.push(u)
        total += u.value
        vb += inVb(u)
      }
      if (total < target + feeFor(vb))
        throw new WalletError('insufficient funds available to construct transaction')
      const change = this.newAddress('p2wkh', true)
      const withChange = vb + outputVbytes(change.script)
      const changeValue = total - target - feeFor(withChange)
      if (changeValue >= 330n) {
        finalOutputs.push({ script: change.script, value: changeValue })
        changeVout = finalOutputs.length - 1
      }
    }
    for (const u of chosen) psbt.addInput(this.psbtInput(u))
    for (const o of finalOutputs) psbt.addOutput({ script: o.script, value: o.value })
    const fee = total - finalOutputs.reduce((s, o) => s + o.value, 0n)
    return { psbt, inputs: chosen, fee, changeVout }
  }

  psbtInput(u: Utxo): Parameters<bitcoin.Psbt['addInput']>[0] {
    const base = {
      hash: u.txid,
      index: u.vout,
      witnessUtxo: { script: u.key.script, value: u.value },
    }
    if (u.key.kind === 'p2tr')
      return { ...base, tapInternalKey: u.key.node.publicKey.subarray(1, 33) }
    return base
  }

  /** Signs every input whose previous output is ours; returns how many it signed. */
  signPsbt(psbt: bitcoin.Psbt): number {
    let signed = 0
    psbt.data.inputs.forEach((input, i) => {
      const script = input.witnessUtxo?.script
      const key = script ? this.ownsScript(script) : undefined
      if (!key || input.finalScriptWitness) return
      if (key.kind === 'p2tr') {
        const tweaked = key.node.tweak(
          bitcoin.crypto.taggedHash('TapTweak', key.node.publicKey.subarray(1, 33)),
        )
        psbt.updateInput(i, { tapInternalKey: key.node.publicKey.subarray(1, 33) })
        psbt.signTaprootInput(i, tweaked)
      } else psbt.signInput(i, key.node)
      signed++
    })
    return signed
  }

  /** The value of an outpoint the wallet knows (its own transactions' outputs). */
  prevout(txid: string, vout: number): { script: Uint8Array; value: bigint } | undefined {
    const o = this.txs.get(txid)?.tx.outs[vout]
    return o ? { script: o.script, value: o.value } : undefined
  }
}
