// The send side of the wallet, behind the API (src/shared/api/wallet-send.ts): every way money
// leaves the wallet — a payment, a fee bump (RBF), a CPFP child, an imported PSBT — becomes a
// persisted review first (send-saga.ts); only `confirm` with that review's id signs, finalizes and
// broadcasts through the box's own node.
import { address as baddress, Transaction, type Psbt } from 'bitcoinjs-lib'
import { FlashError } from '../../errors'
import type { Logger } from '../../log'
import type { MempoolCluster, MempoolEntry } from '../../clients/bitcoind-rpc'
import type { FeeRatesView, SendKind, SendReview } from '../../../shared/api/wallet-send'
import type { WalletAccount, WalletCoin, WalletForSend } from '../types'
import { broadcast, type BroadcastNode } from './broadcast'
import { etaForRate, feeRates, type FeeEstimator, type FeeRates } from './fee-rates'
import { cpfpChildFee, rateOf, replacementMinimumFee, type ReplacedTx } from './fee-bump'
import {
  buildPsbt,
  decodePsbt,
  encodePsbt,
  finalizeAndExtract,
  inputReady,
  isFinal,
  RBF_SEQUENCE,
  signPsbt,
  type PsbtOutputSpec,
  type SpendableCoin,
} from './psbt'
import {
  absurdFeeRateThreshold,
  bitcoinjsNetwork,
  checkAmount,
  checkBalance,
  checkFeeRate,
  parseAddress,
  satPerVb,
  type ChainName,
} from './send-checks'
import { coinId, formatSat, plan, type Recipient } from './send-plan'
import type { SendStore, SendRow } from './send-saga'
import {
  dustThreshold,
  SCRIPT_LENGTH,
  transactionWeight,
  feeFor,
  vsizeOf,
  type ScriptType,
} from './weights'

/** What the send side needs from the box's Bitcoin node (BitcoindRpc has all of it). */
export interface SendNode extends BroadcastNode {
  getBlockCount(): Promise<number>
  getMempoolEntry(txid: string): Promise<MempoolEntry | undefined>
  getMempoolCluster?(txid: string): Promise<MempoolCluster | undefined>
}

export interface SendServiceOptions {
  readonly wallet: WalletForSend
  readonly node: SendNode
  readonly fees: FeeEstimator
  readonly store: SendStore
  readonly log?: Logger
}

interface Draft {
  kind: SendKind
  accountId: string
  inputs: { coin: SpendableCoin; prevTxHex?: string }[]
  outputs: PsbtOutputSpec[]
  selection?: string
  replaces?: string
  parentTxid?: string
  packageFeeRateSatPerVb?: number
}

const sat = (btc: number): number => Math.round(btc * 1e8)
const round2 = (n: number): number => Math.round(n * 100) / 100
const chainOf = (a: WalletAccount): ChainName => (a.network === 'mainnet' ? 'bitcoin' : a.network)

export class SendService {
  private readonly wallet: WalletForSend
  private readonly node: SendNode
  private readonly fees: FeeEstimator
  readonly store: SendStore
  private readonly log?: Logger

  constructor(opts: SendServiceOptions) {
    this.wallet = opts.wallet
    this.node = opts.node
    this.fees = opts.fees
    this.store = opts.store
    this.log = opts.log
  }

  private async rates(): Promise<FeeRates> {
    return feeRates(this.fees)
  }

  async feeRates(): Promise<FeeRatesView> {
    const r = await this.rates()
    return {
      presets: r.presets.map((p) => ({
        id: p.id,
        label: p.label,
        satPerVb: p.satPerKvb / 1000,
        estimated: p.estimated,
        eta: p.eta,
      })),
      minRelaySatPerVb: r.minRelaySatPerKvb / 1000,
      confirmAboveSatPerVb: absurdFeeRateThreshold(r.presets[0]?.satPerKvb) / 1000,
      note: r.note,
    }
  }

  /** Coins a new send may pick: not frozen, not held by another send, mature, confirmed or our own change. */
  private spendable(accountId: string): WalletCoin[] {
    const held = this.store.heldCoins(accountId)
    return this.wallet.coins(accountId).filter((c) => {
      if (c.frozen || held.has(coinId(c))) return false
      if (c.coinbase && c.confirmations < 100) return false
      if (c.confirmations > 0) return true
      const tx = this.wallet.transaction(accountId, c.txid)
      return !!tx && tx.sentSat > 0
    })
  }

  async prepareSend(
    input: {
      accountId: string
      recipients: readonly { address: string; amountSat?: number; max?: boolean }[]
      feeRateSatPerVb: number
      coins?: readonly string[]
    },
    kind: 'send' | 'channel' = 'send',
  ): Promise<SendReview> {
    const account = this.wallet.account(input.accountId)
    const chain = chainOf(account)
    const rates = await this.rates()
    const feeRate = Math.round(input.feeRateSatPerVb * 1000)
    checkFeeRate({ satPerKvb: feeRate, minRelaySatPerKvb: rates.minRelaySatPerKvb })
    const maxAt = input.recipients.findIndex((r) => r.max)
    if (input.recipients.filter((r) => r.max).length > 1) {
      throw new FlashError(
        'wallet.send-max-twice',
        'Only one recipient can get “the rest” (send max).',
        'Untick Send max on all but one row.',
      )
    }
    const recipients: Recipient[] = input.recipients.map((r, i) => {
      const { address, script } = parseAddress(r.address, chain)
      if (i !== maxAt) checkAmount(r.amountSat ?? 0, script, address)
      return { address, script, amountSat: i === maxAt ? 0 : r.amountSat! }
    })
    const coins = this.spendable(input.accountId)
    if (input.coins?.length) {
      const spendable = new Set(coins.map(coinId))
      const all = new Map(this.wallet.coins(input.accountId).map((c) => [coinId(c), c]))
      for (const id of input.coins) {
        if (spendable.has(id)) continue
        const c = all.get(id)
        throw new FlashError(
          'wallet.coin-not-spendable',
          c?.frozen
            ? `The coin ${id.slice(0, 8)}…:${id.split(':')[1]} is frozen.`
            : `The coin ${id.slice(0, 8)}…:${id.split(':')[1]} cannot be spent now: it is spent, held by another send, not yet confirmed, or not in this wallet.`,
          c?.frozen ? 'Unfreeze it in the coin list, or pick other coins.' : 'Pick other coins.',
        )
      }
    }
    const pool = input.coins?.length ? coins.filter((c) => input.coins!.includes(coinId(c))) : coins
    const payments = recipients.reduce((s, r, i) => (i === maxAt ? s : s + r.amountSat), 0)
    checkBalance(
      payments,
      pool.reduce((s, c) => s + c.valueSat, 0),
    )
    const change = await this.wallet.nextChangeAddress(input.accountId)
    const p = plan({
      recipients,
      sendMax: maxAt >= 0 ? maxAt : undefined,
      coins: pool.map((c) => ({ ...c, type: c.derivation.kind as ScriptType })),
      pickedCoins: input.coins?.length ? input.coins : undefined,
      feeRateSatPerKvb: feeRate,
      change: {
        type: change.derivation.kind,
        script: hexBytes(change.scriptPubKey),
        address: change.address,
      },
    })
    return this.review(
      {
        kind,
        accountId: input.accountId,
        inputs: p.inputs.map((c) => ({
          coin: c,
          prevTxHex: this.wallet.transaction(input.accountId, c.txid)?.hex,
        })),
        outputs: p.outputs.map((o) => ({ ...o, ownAddress: o.change ? change : undefined })),
        selection: p.algorithm,
      },
      rates,
    )
  }

  /** Coins of `accountId` spent by inputs of `tx`, as PSBT inputs (from the previous transactions). */
  private ownInputs(
    accountId: string,
    tx: Transaction,
  ): { coin: SpendableCoin; prevTxHex?: string }[] {
    return tx.ins.map((inp) => {
      const prevTxid = Buffer.from(inp.hash).reverse().toString('hex')
      const prev = this.wallet.transaction(accountId, prevTxid)
      const out = prev ? Transaction.fromHex(prev.hex).outs[inp.index] : undefined
      const addr = out ? this.wallet.addressForScript(accountId, bytesHex(out.script)) : undefined
      if (!prev || !out || !addr) {
        throw new FlashError(
          'wallet.bump-not-ours',
          'Only transactions this wallet sent can be replaced: this one spends coins of another wallet.',
          'To speed up a payment you received, use “Speed up (CPFP)” instead.',
        )
      }
      return {
        coin: {
          txid: prevTxid,
          vout: inp.index,
          valueSat: Number(out.value),
          scriptPubKey: bytesHex(out.script),
          derivation: addr.derivation,
        },
        prevTxHex: prev.hex,
      }
    })
  }

  async prepareBump(input: {
    accountId: string
    txid: string
    feeRateSatPerVb: number
  }): Promise<SendReview> {
    const rates = await this.rates()
    const feeRate = Math.round(input.feeRateSatPerVb * 1000)
    checkFeeRate({ satPerKvb: feeRate, minRelaySatPerKvb: rates.minRelaySatPerKvb })
    const original = this.unconfirmed(input.accountId, input.txid)
    const tx = Transaction.fromHex(original.hex)
    const inputs = this.ownInputs(input.accountId, tx)
    const entry = await this.node.getMempoolEntry(input.txid)
    if (!entry) throw notInMempool()
    const replaced = await this.replacedInfo(input.txid, entry)
    const oldFee = sat(entry.fees.base)

    // Outputs: payments stay as they were; the change (the wallet's chain-1 output) pays the bump.
    const outs = tx.outs.map((o) => {
      const own = this.wallet.addressForScript(input.accountId, bytesHex(o.script))
      return {
        script: o.script,
        amountSat: Number(o.value),
        change: own?.derivation.chain === 1,
        ownAddress: own,
        address: own?.address ?? addressOf(o.script, this.wallet.account(input.accountId)),
      }
    })
    const changeAt = outs.findLastIndex((o) => o.change)
    const types = (cs: { coin: SpendableCoin }[]) =>
      cs.map((c) => c.coin.derivation.kind as ScriptType)
    const lengths = (os: { script: Uint8Array }[]) => os.map((o) => o.script.length)
    const need = (ins: { coin: SpendableCoin }[], os: { script: Uint8Array }[]) => {
      const vsize = vsizeOf(transactionWeight(types(ins), lengths(os)))
      return {
        vsize,
        fee: Math.max(feeFor(feeRate, vsize), replacementMinimumFee(replaced, vsize)),
        min: replacementMinimumFee(replaced, vsize),
      }
    }
    const first = need(inputs, outs)
    if (feeFor(feeRate, first.vsize) < first.min) {
      throw new FlashError(
        'wallet.bump-too-low',
        `To replace it, the new transaction must pay at least ${formatSat(first.min)} (${satPerVb(Math.ceil(rateOf(first.min, first.vsize)))}): the old one${entry.descendantcount > 1 ? ` and the ${entry.descendantcount - 1} transaction(s) that depend on it` : ''} pay ${formatSat(replaced.descendantFeeSat)}, and a replacement also pays the relay fee for its own size.`,
        `Choose at least ${satPerVb(Math.ceil(rateOf(first.min, first.vsize)))}.`,
      )
    }
    let ins = [...inputs]
    let os = [...outs]
    const totalIn = () => ins.reduce((s, c) => s + c.coin.valueSat, 0)
    const paid = () => os.filter((o) => !o.change).reduce((s, o) => s + o.amountSat, 0)
    let done = false
    if (changeAt >= 0) {
      const n = need(ins, os)
      const change = totalIn() - paid() - n.fee
      if (change >= dustThreshold(os[changeAt]!.script)) {
        os[changeAt] = { ...os[changeAt]!, amountSat: change }
        done = true
      } else {
        // Too little left for change: drop it, the rest goes to the fee.
        const without = os.filter((_, i) => i !== changeAt)
        if (totalIn() - paid() >= need(ins, without).fee) {
          os = without
          done = true
        }
      }
    }
    if (!done) {
      // Add the wallet's other coins, largest first, with a change output.
      const extra = this.spendable(input.accountId).sort((a, b) => b.valueSat - a.valueSat)
      let changeOut = changeAt >= 0 ? os[changeAt]! : undefined
      if (!changeOut) {
        const addr = await this.wallet.nextChangeAddress(input.accountId)
        changeOut = {
          script: hexBytes(addr.scriptPubKey),
          amountSat: 0,
          change: true,
          ownAddress: addr,
          address: addr.address,
        }
        os = [...os, changeOut]
      }
      const at = os.indexOf(changeOut)
      for (const c of extra) {
        ins = [
          ...ins,
          { coin: c, prevTxHex: this.wallet.transaction(input.accountId, c.txid)?.hex },
        ]
        const change = totalIn() - paid() - need(ins, os).fee
        if (change >= dustThreshold(changeOut.script)) {
          os[at] = { ...changeOut, amountSat: change }
          done = true
          break
        }
      }
      if (!done) {
        throw new FlashError(
          'wallet.insufficient-funds',
          `The wallet does not have enough spendable coins to pay the higher fee (${formatSat(need(ins, os).fee - oldFee)} more than now).`,
          'Receive more bitcoin first, or choose a lower fee rate.',
        )
      }
    }
    return this.review(
      {
        kind: 'bump',
        accountId: input.accountId,
        inputs: ins,
        outputs: os,
        replaces: input.txid,
        selection: ins.length > inputs.length ? 'added-coins' : 'same-coins',
      },
      rates,
    )
  }

  private async replacedInfo(txid: string, entry: MempoolEntry): Promise<ReplacedTx> {
    const feeSat = sat(entry.fees.base)
    let maxChunk = Math.max(
      rateOf(feeSat, entry.vsize),
      rateOf(sat(entry.fees.descendant), entry.descendantsize),
    )
    const cluster = await this.node.getMempoolCluster?.(txid).catch(() => undefined)
    for (const c of cluster?.chunks ?? []) {
      if (c.txs.includes(txid))
        maxChunk = Math.max(maxChunk, rateOf(sat(c.chunkfee), vsizeOf(c.chunkweight)))
    }
    return {
      feeSat,
      vsize: entry.vsize,
      descendantFeeSat: sat(entry.fees.descendant),
      descendantVsize: entry.descendantsize,
      maxChunkRateSatPerKvb: maxChunk,
    }
  }

  private unconfirmed(accountId: string, txid: string) {
    const tx = this.wallet.transaction(accountId, txid)
    if (!tx) {
      throw new FlashError(
        'wallet.tx-unknown',
        'This wallet has no transaction with that id.',
        'Pick the transaction from the wallet history.',
      )
    }
    if (tx.status !== 'unconfirmed') {
      throw new FlashError(
        'wallet.tx-confirmed',
        tx.status === 'replaced'
          ? 'That transaction was already replaced.'
          : 'That transaction is already confirmed; there is nothing to speed up.',
        'Only unconfirmed transactions can be sped up.',
      )
    }
    return tx
  }

  async prepareCpfp(input: {
    accountId: string
    txid: string
    feeRateSatPerVb: number
  }): Promise<SendReview> {
    const rates = await this.rates()
    const feeRate = Math.round(input.feeRateSatPerVb * 1000)
    checkFeeRate({ satPerKvb: feeRate, minRelaySatPerKvb: rates.minRelaySatPerKvb })
    this.unconfirmed(input.accountId, input.txid)
    const entry = await this.node.getMempoolEntry(input.txid)
    if (!entry) throw notInMempool()
    const held = this.store.heldCoins(input.accountId)
    const coins = this.wallet
      .coins(input.accountId)
      .filter((c) => c.txid === input.txid && !c.frozen && !held.has(coinId(c)))
    if (coins.length === 0) {
      throw new FlashError(
        'wallet.cpfp-no-coin',
        'None of that transaction’s outputs belong to this wallet (or they are frozen or already being spent), so there is nothing to pay for it with.',
        'If you sent it, use “Bump fee (RBF)” instead.',
      )
    }
    const pkg = { ancestorFeeSat: sat(entry.fees.ancestor), ancestorVsize: entry.ancestorsize }
    if (rateOf(pkg.ancestorFeeSat, pkg.ancestorVsize) >= feeRate) {
      throw new FlashError(
        'wallet.cpfp-not-needed',
        `That transaction already pays ${satPerVb(Math.floor(rateOf(pkg.ancestorFeeSat, pkg.ancestorVsize)))} with its unconfirmed parents, which is not below ${satPerVb(feeRate)}.`,
        'Choose a higher fee rate to speed it up.',
      )
    }
    const to = await this.wallet.nextChangeAddress(input.accountId)
    const childVsize = vsizeOf(
      transactionWeight(
        coins.map((c) => c.derivation.kind as ScriptType),
        [SCRIPT_LENGTH[to.derivation.kind]],
      ),
    )
    const childFee = cpfpChildFee(pkg, childVsize, feeRate)
    const value = coins.reduce((s, c) => s + c.valueSat, 0) - childFee
    const script = hexBytes(to.scriptPubKey)
    if (value < dustThreshold(script)) {
      throw new FlashError(
        'wallet.cpfp-too-small',
        `The wallet’s coins in that transaction hold ${formatSat(value + childFee)}, not enough to pay the ${formatSat(childFee)} a speed-up to ${satPerVb(feeRate)} costs.`,
        'Choose a lower fee rate, or wait for the transaction to confirm.',
      )
    }
    return this.review(
      {
        kind: 'cpfp',
        accountId: input.accountId,
        inputs: coins.map((c) => ({
          coin: c,
          prevTxHex: this.wallet.transaction(input.accountId, c.txid)?.hex,
        })),
        outputs: [{ address: to.address, script, amountSat: value, change: true, ownAddress: to }],
        parentTxid: input.txid,
        packageFeeRateSatPerVb: round2(
          rateOf(pkg.ancestorFeeSat + childFee, pkg.ancestorVsize + childVsize) / 1000,
        ),
        selection: 'parent-outputs',
      },
      rates,
    )
  }

  /** Persists the draft, builds the PSBT, persists the review. */
  private async review(d: Draft, rates: FeeRates): Promise<SendReview> {
    const account = this.wallet.account(d.accountId)
    const id = this.store.draft({
      accountId: d.accountId,
      kind: d.kind,
      coins: d.inputs.map((i) => coinId(i.coin)),
      replaces: d.replaces,
    })
    let lockTime: number | undefined
    try {
      lockTime = await this.node.getBlockCount()
    } catch {
      lockTime = undefined
    }
    const psbt = buildPsbt({
      network: bitcoinjsNetwork(chainOf(account)),
      inputs: d.inputs,
      outputs: d.outputs,
      lockTime,
    })
    return this.persistReview(id, d, psbt, account, rates)
  }

  private persistReview(
    id: string,
    d: Omit<Draft, 'inputs' | 'outputs'>,
    psbt: Psbt,
    account: WalletAccount,
    rates: FeeRates,
  ): SendReview {
    const row = this.store.get(id)!
    const review = this.describe(id, d, psbt, account, rates, row.created_at, row.expires_at)
    this.store.reviewed(id, review, encodePsbt(psbt), review.txid)
    return review
  }

  /** The review of a PSBT: every input and output, change, fee, fee rate, signatures. */
  private describe(
    id: string,
    d: Omit<Draft, 'inputs' | 'outputs'>,
    psbt: Psbt,
    account: WalletAccount,
    rates: FeeRates,
    createdAt: number,
    expiresAt: number,
  ): SendReview {
    const coins = new Map(this.wallet.coins(d.accountId).map((c) => [coinId(c), c]))
    const inputs = psbt.txInputs.map((inp, i) => {
      const txid = Buffer.from(inp.hash).reverse().toString('hex')
      const utxo = psbt.data.inputs[i]!.witnessUtxo
      const own = utxo
        ? this.wallet.addressForScript(d.accountId, bytesHex(utxo.script))
        : undefined
      const c = coins.get(`${txid}:${inp.index}`)
      return {
        outpoint: `${txid}:${inp.index}`,
        valueSat: Number(utxo?.value ?? 0n),
        address: own?.address,
        label: c?.label,
      }
    })
    const outputs = psbt.txOutputs.map((o) => {
      const own = this.wallet.addressForScript(d.accountId, bytesHex(o.script))
      return {
        address: own?.address ?? addressOf(o.script, account),
        amountSat: Number(o.value),
        change: own?.derivation.chain === 1,
        mine: !!own && own.derivation.chain !== 1,
      }
    })
    const inSat = inputs.reduce((s, i) => s + i.valueSat, 0)
    const outSat = outputs.reduce((s, o) => s + o.amountSat, 0)
    const feeSat = inSat - outSat
    const vsize = estimatedVsize(psbt)
    const feeRate = rateOf(feeSat, vsize)
    const signed = psbt.data.inputs.filter((_, i) => inputReady(psbt, i)).length
    const unsignedTx = Transaction.fromBuffer(psbt.data.globalMap.unsignedTx.toBuffer())
    const allSegwit = psbt.data.inputs.every((i) => !!i.witnessUtxo)
    return {
      id,
      accountId: d.accountId,
      kind: d.kind,
      state: 'reviewed',
      inputs,
      outputs,
      amountSat: outputs.filter((o) => !o.change).reduce((s, o) => s + o.amountSat, 0),
      changeSat: outputs.filter((o) => o.change).reduce((s, o) => s + o.amountSat, 0),
      feeSat,
      vsize,
      feeRateSatPerVb: round2(feeRate / 1000),
      eta: etaForRate(d.packageFeeRateSatPerVb ? d.packageFeeRateSatPerVb * 1000 : feeRate, rates),
      selection: d.selection,
      replaces: d.replaces,
      parentTxid: d.parentTxid,
      packageFeeRateSatPerVb: d.packageFeeRateSatPerVb,
      needsFeeConfirmation: feeRate > absurdFeeRateThreshold(rates.presets[0]?.satPerKvb),
      canSign: account.source === 'seed',
      signatures: { have: signed, need: psbt.data.inputs.length },
      rbf: psbt.txInputs.some((i) => (i.sequence ?? 0xffffffff) <= RBF_SEQUENCE),
      txid: allSegwit ? unsignedTx.getId() : undefined,
      psbt: encodePsbt(psbt),
      createdAt: new Date(createdAt).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
    }
  }

  private view(row: SendRow): SendReview {
    const review = JSON.parse(row.review_json) as SendReview
    return {
      ...review,
      state: row.state === 'reviewed' && row.expires_at <= Date.now() ? 'expired' : row.state,
      psbt: row.psbt,
      txid: row.txid ?? review.txid,
      failure: row.failure ?? undefined,
    }
  }

  get(id: string): SendReview {
    const row = this.store.get(id)
    if (!row || row.state === 'draft') {
      throw new FlashError(
        'wallet.review-unknown',
        'There is no prepared send with that id.',
        'Prepare the send again.',
      )
    }
    return this.view(row)
  }

  list(accountId: string): SendReview[] {
    return this.store
      .list(accountId)
      .filter((r) => r.state !== 'draft')
      .map((r) => this.view(r))
  }

  /**
   * The only way anything is broadcast: the owner confirms a review they have seen. Signs with
   * the seed when the box holds keys (and the PSBT still needs signatures), finalizes, persists
   * the signed transaction, then broadcasts it.
   */
  async confirm(input: {
    reviewId: string
    password?: string
    confirmHighFee?: boolean
  }): Promise<SendReview> {
    const row = this.store.get(input.reviewId)
    if (row?.state === 'signed') return this.broadcastSigned({ reviewId: row.id })
    const checked = this.reviewToSign(input)
    if (checked.row.kind === 'channel') {
      throw new FlashError(
        'wallet.channel-funding-elsewhere',
        'This send funds a Lightning channel; it must be confirmed from the channel form so your Lightning node checks it before it is sent.',
        'Confirm it with “Open the channel” on the review, or cancel it.',
      )
    }
    const { psbt, tx } = await this.signReview(checked, input.password)
    // Durable before anything leaves the box.
    if (!this.store.signed(checked.row.id, encodePsbt(psbt), tx.toHex(), tx.getId())) {
      throw new FlashError(
        'wallet.review-used',
        'This send was confirmed already.',
        'Look at the list of sends.',
      )
    }
    return this.broadcastSigned({ reviewId: checked.row.id })
  }

  /**
   * A channel funding's review (lightning-moves.ts), after the same checks as confirm(): its
   * unsigned PSBT, for LND to verify before anything is signed.
   */
  fundingReview(input: { reviewId: string; confirmHighFee?: boolean }): Psbt {
    const { row, psbt } = this.reviewToSign(input)
    if (row.kind !== 'channel') {
      throw new FlashError(
        'wallet.review-unknown',
        'That review does not fund a Lightning channel.',
        'Prepare the channel opening again.',
      )
    }
    return psbt
  }

  /**
   * Signs a channel funding's review. `keep` persists the signed funding (the channel saga)
   * first; then the send becomes `signed`, its coins held. Nothing is broadcast: LND must accept
   * the signed PSBT first (broadcastSigned with `fundingAccepted`).
   */
  async signFunding(
    input: { reviewId: string; password?: string; confirmHighFee?: boolean },
    keep: (psbt: Psbt, tx: Transaction) => void,
  ): Promise<{ psbt: Psbt; tx: Transaction }> {
    const checked = this.reviewToSign(input)
    const signed = await this.signReview(checked, input.password)
    keep(signed.psbt, signed.tx)
    this.adoptSignedFunding(
      checked.row.id,
      encodePsbt(signed.psbt),
      signed.tx.toHex(),
      signed.tx.getId(),
    )
    return signed
  }

  /** The send of a funding whose signed transaction the channel saga holds becomes `signed`. */
  adoptSignedFunding(reviewId: string, psbt: string, rawHex: string, txid: string): void {
    const row = this.store.get(reviewId)
    if (row?.state === 'reviewed') this.store.signed(reviewId, psbt, rawHex, txid)
  }

  /** The checks before signing: the review exists, is unused and fresh; a high fee was confirmed. */
  private reviewToSign(input: { reviewId: string; confirmHighFee?: boolean }): {
    row: SendRow
    psbt: Psbt
    account: WalletAccount
  } {
    const row = this.store.get(input.reviewId)
    if (!row || row.state === 'draft') {
      throw new FlashError(
        'wallet.review-unknown',
        'There is no prepared send with that id.',
        'Prepare the send again.',
      )
    }
    if (row.state !== 'reviewed') {
      throw new FlashError(
        'wallet.review-used',
        `This send is already ${row.state === 'broadcast' || row.state === 'seen' || row.state === 'signed' ? 'sent' : row.state}.`,
        'Prepare a new send if you want to pay again.',
      )
    }
    if (row.expires_at <= Date.now()) {
      this.store.expire(row.id)
      throw new FlashError(
        'wallet.review-expired',
        'This review is more than 30 minutes old; fees and coins may have changed since.',
        'Prepare the send again and review it once more.',
      )
    }
    const review = JSON.parse(row.review_json) as SendReview
    if (review.needsFeeConfirmation && input.confirmHighFee !== true) {
      throw new FlashError(
        'wallet.fee-rate-needs-confirmation',
        `A fee rate of ${review.feeRateSatPerVb} sat/vB is unusually high.`,
        'If you really mean it, tick “I want to pay this fee” on the review screen.',
      )
    }
    const account = this.wallet.account(row.account_id)
    const psbt = decodePsbt(row.psbt, bitcoinjsNetwork(chainOf(account)))
    this.checkCoinsStillThere(row, psbt)
    return { row, psbt, account }
  }

  /** Signs (when the PSBT still needs it and the box holds the keys) and finalizes. */
  private async signReview(
    { row, psbt, account }: { row: SendRow; psbt: Psbt; account: WalletAccount },
    password: string | undefined,
  ): Promise<{ psbt: Psbt; tx: Transaction }> {
    const complete = psbt.data.inputs.every((_, i) => inputReady(psbt, i))
    if (!complete) {
      if (account.source !== 'seed') {
        throw new FlashError(
          'wallet.psbt-not-signed',
          'This wallet is watch-only: the box cannot sign. The PSBT still needs its signatures.',
          'Export the PSBT, sign it on the device or wallet that holds the keys, and import the signed PSBT.',
        )
      }
      if (!password) {
        throw new FlashError(
          'wallet.password-needed',
          'Type your password to sign this send.',
          'The password is the one you log in to Flash Box with.',
        )
      }
      const master = await this.wallet.masterKey(row.account_id, password)
      const n = signPsbt(psbt, master)
      if (n === 0) {
        throw new FlashError(
          'wallet.psbt-not-ours',
          'None of this PSBT’s inputs can be signed with this wallet’s seed.',
          'Sign it with the wallet that owns these coins.',
        )
      }
    }
    return { psbt, tx: finalizeAndExtract(psbt) }
  }

  private checkCoinsStillThere(row: SendRow, psbt: Psbt): void {
    if (row.kind === 'bump') return // its coins are spent by the transaction it replaces
    const coins = new Set(this.wallet.coins(row.account_id).map(coinId))
    for (const inp of psbt.txInputs) {
      const id = `${Buffer.from(inp.hash).reverse().toString('hex')}:${inp.index}`
      if (!coins.has(id)) {
        throw new FlashError(
          'wallet.coin-spent',
          `The coin ${id.slice(0, 8)}…:${inp.index} was spent since this review was made.`,
          'Prepare the send again.',
        )
      }
    }
  }

  /** Broadcasts the signed transaction of a `signed` (or refused earlier) send: the same txid every time. */
  async broadcastSigned(
    input: { reviewId: string },
    opts: {
      /** Set only by lightning-moves.ts once LND accepted the signed funding (its saga is finalized). */
      fundingAccepted?: boolean
    } = {},
  ): Promise<SendReview> {
    const row = this.store.get(input.reviewId)
    if (!row || !row.raw_hex || !row.txid) {
      throw new FlashError(
        'wallet.review-unknown',
        'There is no signed send with that id.',
        'Look at the list of sends.',
      )
    }
    if (row.state === 'broadcast' || row.state === 'seen') return this.view(row)
    if (row.kind === 'channel' && !opts.fundingAccepted) {
      // Published before LND holds the peer's refund signature, the coins could be stuck.
      throw new FlashError(
        'wallet.channel-funding-elsewhere',
        'This transaction funds a Lightning channel; the box sends it once your Lightning node has accepted it, never before.',
        'Open the Lightning page and make sure the node is running; the box finishes the opening on its own.',
      )
    }
    if (row.state !== 'signed' && row.state !== 'failed') {
      throw new FlashError(
        'wallet.review-used',
        `This send is ${row.state}; it cannot be broadcast.`,
        'Prepare a new send.',
      )
    }
    try {
      await broadcast(this.node, row.raw_hex, row.txid)
    } catch (e) {
      if (e instanceof FlashError && e.code === 'wallet.broadcast-refused') {
        this.store.failed(row.id, e.message)
        throw e
      }
      // The node could not be reached: the signed transaction stays, to be broadcast later.
      throw new FlashError(
        'wallet.broadcast-pending',
        'The transaction is signed and kept, but your Bitcoin node could not be reached to send it.',
        'When the node is running again, open Wallet → Send and press “Broadcast” on this send.',
        { cause: e },
      )
    }
    this.store.broadcast(row.id)
    this.log?.info('wallet send broadcast', { txid: row.txid, kind: row.kind })
    await this.wallet.noteBroadcast(row.account_id, row.raw_hex).catch(() => undefined)
    return this.view(this.store.get(row.id)!)
  }

  discard(input: { reviewId: string }): SendReview {
    const row = this.store.get(input.reviewId)
    if (!row)
      throw new FlashError(
        'wallet.review-unknown',
        'There is no send with that id.',
        'Look at the list of sends.',
      )
    if (row.state === 'broadcast' || row.state === 'seen') {
      throw new FlashError(
        'wallet.send-already-sent',
        'This send is already broadcast; it cannot be discarded.',
        'To change it, bump its fee.',
      )
    }
    this.store.discard(row.id)
    return this.view(this.store.get(row.id)!)
  }

  /**
   * An imported PSBT → a review. Signatures for a send this box prepared are merged into it;
   * another PSBT must spend only this wallet's coins. Final PSBTs are refused.
   */
  async importPsbt(input: { accountId: string; psbt: string }): Promise<SendReview> {
    const account = this.wallet.account(input.accountId)
    const psbt = decodePsbt(input.psbt, bitcoinjsNetwork(chainOf(account)))
    if (isFinal(psbt)) {
      throw new FlashError(
        'wallet.psbt-final',
        'This PSBT is already final: every input is signed and finalized, so there is nothing left for Flash Box to do with it.',
        'Import the PSBT from before it was finalized.',
      )
    }
    const coins = new Set(this.wallet.coins(input.accountId).map(coinId))
    const notOurs = psbt.txInputs.filter((inp, i) => {
      const id = `${Buffer.from(inp.hash).reverse().toString('hex')}:${inp.index}`
      const utxo = psbt.data.inputs[i]!.witnessUtxo
      return (
        !coins.has(id) ||
        !utxo ||
        !this.wallet.addressForScript(input.accountId, bytesHex(utxo.script))
      )
    })
    if (notOurs.length > 0) {
      throw new FlashError(
        'wallet.psbt-not-ours',
        `This PSBT does not belong to this wallet: ${notOurs.length} of its ${psbt.txInputs.length} input${psbt.txInputs.length === 1 ? '' : 's'} spend${notOurs.length === 1 ? 's' : ''} coins this wallet does not have (or that are already spent).`,
        'Import it into the wallet that owns those coins, or pick the right account.',
      )
    }
    const unsignedId = Transaction.fromBuffer(psbt.data.globalMap.unsignedTx.toBuffer()).getId()
    const rates = await this.rates()
    const existing = this.store.findByTxid(input.accountId, unsignedId)
    if (existing && existing.state === 'reviewed') {
      const mine = decodePsbt(existing.psbt, bitcoinjsNetwork(chainOf(account)))
      try {
        mine.combine(psbt)
      } catch (e) {
        throw new FlashError(
          'wallet.psbt-invalid',
          'This PSBT cannot be merged with the send it belongs to.',
          'Export the PSBT again and sign that one.',
          { cause: e },
        )
      }
      this.store.updatePsbt(existing.id, encodePsbt(mine))
      const prev = JSON.parse(existing.review_json) as SendReview
      const review = this.describe(
        existing.id,
        prev,
        mine,
        account,
        rates,
        existing.created_at,
        existing.expires_at,
      )
      this.store.reviewed(existing.id, review, encodePsbt(mine), review.txid)
      return review
    }
    const id = this.store.draft({
      accountId: input.accountId,
      kind: 'import',
      coins: psbt.txInputs.map(
        (inp) => `${Buffer.from(inp.hash).reverse().toString('hex')}:${inp.index}`,
      ),
    })
    return this.persistReview(
      id,
      { kind: 'import', accountId: input.accountId, selection: 'imported' },
      psbt,
      account,
      rates,
    )
  }

  /**
   * After a restart and whenever the wallet changed: broadcast sends the wallet now sees become
   * `seen`; `signed` sends the node already has (sent just before a crash) become `broadcast`.
   * Nothing is sent from here: a signed send waits for the owner.
   */
  async reconcile(): Promise<void> {
    for (const row of this.store.unresolved()) {
      if (!row.txid) continue
      const tx = this.wallet.transaction(row.account_id, row.txid)
      if (tx && tx.status !== 'replaced') {
        if (row.state === 'signed') this.store.broadcast(row.id)
        this.store.seen(row.id)
        continue
      }
      if (row.state === 'signed') {
        const inMempool = await this.node.getMempoolEntry(row.txid).catch(() => undefined)
        if (inMempool) this.store.broadcast(row.id)
      }
    }
  }
}

function notInMempool(): FlashError {
  return new FlashError(
    'wallet.tx-not-in-mempool',
    'Your Bitcoin node no longer has this transaction waiting: it may have just confirmed or been replaced.',
    'Wait for the wallet to catch up, then look at the history again.',
  )
}

/** The vsize the transaction will have once signed (its real size if already final). */
function estimatedVsize(psbt: Psbt): number {
  const types: ScriptType[] = psbt.data.inputs.map((i) =>
    i.tapInternalKey || i.tapKeySig ? 'tr' : i.witnessUtxo ? 'wpkh' : 'pkh',
  )
  return vsizeOf(
    transactionWeight(
      types,
      psbt.txOutputs.map((o) => o.script.length),
    ),
  )
}

function addressOf(script: Uint8Array, account: WalletAccount): string | undefined {
  try {
    return baddress.fromOutputScript(script, bitcoinjsNetwork(chainOf(account)))
  } catch {
    return undefined
  }
}

const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const bytesHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
