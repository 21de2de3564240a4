// What the owner sees, computed from the synced state (pure functions over one account):
// transactions with amounts, fees and confirmations; coins (UTXOs) with frozen state and labels;
// the balance; the history as CSV; the balance over time; BIP329 label records.
// Coins come from the wallet's own transactions (an output of the account not spent by another
// live transaction of the account), so listing them costs no request to electrs.
import * as bitcoin from 'bitcoinjs-lib'
import { NETWORKS } from './account'
import type { AccountState } from './wallet-sync'
import type { StoredTx } from './wallet-store'
import type {
  BalancePoint,
  Bip329Record,
  Outpoint,
  WalletAddress,
  WalletBalance,
  WalletCoin,
  WalletTransaction,
  WalletTxInput,
  WalletTxOutput,
  WalletTxStatus,
} from './types'

export interface AccountExtras {
  /** `type:ref` → label (BIP329 tx, addr, output). */
  readonly labels: ReadonlyMap<string, string>
  readonly frozen: ReadonlySet<string>
  readonly tipHeight: number | undefined
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function status(tx: StoredTx): WalletTxStatus {
  if (tx.state === 'gone') return 'replaced'
  if (tx.height <= 0) return 'unconfirmed'
  return tx.verified ? 'confirmed' : 'confirming'
}

function confirmations(tx: StoredTx, tip: number | undefined): number {
  if (tx.state === 'gone' || tx.height <= 0 || !tx.verified || tip === undefined) return 0
  return Math.max(tip - tx.height + 1, 0)
}

function addressOf(script: Uint8Array, network: bitcoin.Network): string | undefined {
  try {
    return bitcoin.address.fromOutputScript(script, network)
  } catch {
    return undefined // OP_RETURN and other scripts without an address
  }
}

export function transactionView(
  state: AccountState,
  stored: StoredTx,
  extras: AccountExtras,
): WalletTransaction {
  const tx = state.tx(stored.txid)!
  const network = NETWORKS[state.account.network]
  let sent = 0
  let inputsKnown = true
  let inSum = 0
  const inputs: WalletTxInput[] = tx.ins.map((input) => {
    const prevTxid = Buffer.from(input.hash).reverse().toString('hex')
    const out = state.spentOutput(prevTxid, input.index)
    if (!out) {
      inputsKnown = false
      return { txid: prevTxid, vout: input.index, mine: false }
    }
    const script = out.script
    const mine = state.byScript.has(script)
    const value = out.valueSat
    inSum += value
    if (mine) sent += value
    const address = addressOf(Buffer.from(script, 'hex'), network)
    return {
      txid: prevTxid,
      vout: input.index,
      valueSat: value,
      ...(address ? { address } : {}),
      mine,
    }
  })
  let received = 0
  let outSum = 0
  const outputs: WalletTxOutput[] = tx.outs.map((out, vout) => {
    const script = hex(out.script)
    const own = state.byScript.get(script)
    const value = Number(out.value)
    outSum += value
    if (own) received += value
    const address = addressOf(out.script, network)
    return {
      vout,
      valueSat: value,
      ...(address ? { address } : {}),
      scriptPubKey: script,
      mine: own !== undefined,
      ...(own ? { chain: own.derived.derivation.chain } : {}),
    }
  })
  const isCoinbase = tx.isCoinbase()
  const feeSat = inputsKnown && !isCoinbase ? inSum - outSum : undefined
  const vsize = tx.virtualSize()
  const label = extras.labels.get(`tx:${stored.txid}`)
  const blockTime = stored.blockTime && stored.verified ? stored.blockTime : undefined
  return {
    accountId: state.account.id,
    txid: stored.txid,
    status: status(stored),
    height: stored.state === 'gone' ? 0 : Math.max(stored.height, 0),
    confirmations: confirmations(stored, extras.tipHeight),
    ...(stored.blockHash && stored.verified ? { blockHash: stored.blockHash } : {}),
    ...(blockTime ? { blockTime: new Date(blockTime * 1000).toISOString() } : {}),
    firstSeen: stored.firstSeen,
    receivedSat: received,
    sentSat: sent,
    netSat: received - sent,
    ...(feeSat !== undefined ? { feeSat, feeRate: Math.round((feeSat / vsize) * 100) / 100 } : {}),
    vsize,
    rbf: tx.ins.some((i) => i.sequence < 0xfffffffe),
    inputs,
    outputs,
    ...(label ? { label } : {}),
    hex: stored.hex,
  }
}

/** Newest first: unconfirmed on top, then by height, then by first seen. */
export function history(state: AccountState, extras: AccountExtras): WalletTransaction[] {
  const list = [...state.txs.values()]
  list.sort((a, b) => {
    const ha = a.state === 'gone' || a.height <= 0 ? Infinity : a.height
    const hb = b.state === 'gone' || b.height <= 0 ? Infinity : b.height
    if (ha !== hb) return hb - ha
    return b.firstSeen.localeCompare(a.firstSeen) || a.txid.localeCompare(b.txid)
  })
  return list.map((t) => transactionView(state, t, extras))
}

export function searchHistory(
  list: readonly WalletTransaction[],
  query: string | undefined,
): WalletTransaction[] {
  const q = query?.trim().toLowerCase()
  if (!q) return [...list]
  return list.filter(
    (t) =>
      t.txid.includes(q) ||
      (t.label ?? '').toLowerCase().includes(q) ||
      t.outputs.some((o) => o.address?.toLowerCase().includes(q)) ||
      t.inputs.some((i) => i.address?.toLowerCase().includes(q)) ||
      String(Math.abs(t.netSat)) === q.replace(/[ ,_]/g, '') ||
      t.status === q,
  )
}

export function coins(state: AccountState, extras: AccountExtras): WalletCoin[] {
  const spent = new Set<string>()
  for (const t of state.txs.values()) {
    if (t.state === 'gone') continue
    for (const input of state.tx(t.txid)!.ins)
      spent.add(`${Buffer.from(input.hash).reverse().toString('hex')}:${input.index}`)
  }
  const out: WalletCoin[] = []
  for (const t of state.txs.values()) {
    if (t.state === 'gone') continue
    const tx = state.tx(t.txid)!
    tx.outs.forEach((o, vout) => {
      const outpoint = `${t.txid}:${vout}` as Outpoint
      if (spent.has(outpoint)) return
      const own = state.byScript.get(hex(o.script))
      if (!own) return
      const label =
        extras.labels.get(`output:${outpoint}`) ??
        extras.labels.get(`addr:${own.derived.address}`) ??
        extras.labels.get(`tx:${t.txid}`)
      const seen =
        t.blockTime && t.verified ? new Date(t.blockTime * 1000).toISOString() : t.firstSeen
      out.push({
        accountId: state.account.id,
        txid: t.txid,
        vout,
        outpoint,
        valueSat: Number(o.value),
        address: own.derived.address,
        scriptPubKey: own.derived.scriptPubKey,
        derivation: own.derived.derivation,
        height: Math.max(t.height, 0),
        confirmations: confirmations(t, extras.tipHeight),
        verified: t.verified,
        coinbase: tx.isCoinbase(),
        frozen: extras.frozen.has(outpoint),
        ...(label ? { label } : {}),
        firstSeen: seen,
      })
    })
  }
  out.sort((a, b) => b.valueSat - a.valueSat || a.outpoint.localeCompare(b.outpoint))
  return out
}

export function balance(list: readonly WalletCoin[]): WalletBalance {
  let confirmedSat = 0
  let unconfirmedSat = 0
  let frozenSat = 0
  for (const c of list) {
    if (c.verified && c.height > 0) {
      confirmedSat += c.valueSat
      if (c.frozen) frozenSat += c.valueSat
    } else unconfirmedSat += c.valueSat
  }
  return { confirmedSat, unconfirmedSat, frozenSat }
}

export function addresses(
  state: AccountState,
  extras: AccountExtras,
  chain?: 0 | 1,
): WalletAddress[] {
  const out: WalletAddress[] = []
  for (const c of chain === undefined ? ([0, 1] as const) : [chain]) {
    for (const a of state.chains[c]) {
      if (!a) continue
      const label = extras.labels.get(`addr:${a.derived.address}`)
      out.push({
        accountId: state.account.id,
        ...a.derived,
        used: a.history.length > 0,
        ...(label ? { label } : {}),
      })
    }
  }
  return out
}

/** The balance after each transaction, oldest first (replaced transactions left out). */
export function balanceHistory(list: readonly WalletTransaction[]): BalancePoint[] {
  const live = list.filter((t) => t.status !== 'replaced')
  const ordered = [...live].reverse()
  let running = 0
  return ordered.map((t) => {
    running += t.netSat
    const when = t.blockTime ?? t.firstSeen
    return { t: Math.floor(new Date(when).getTime() / 1000), balanceSat: running }
  })
}

const csvCell = (v: string | number | undefined) => {
  const s = v === undefined ? '' : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function historyCsv(list: readonly WalletTransaction[]): string {
  const rows = [
    [
      'date',
      'txid',
      'status',
      'confirmations',
      'amount_sat',
      'fee_sat',
      'fee_rate_sat_vb',
      'label',
    ].join(','),
  ]
  for (const t of list) {
    rows.push(
      [
        t.blockTime ?? t.firstSeen,
        t.txid,
        t.status,
        t.confirmations,
        t.netSat,
        t.feeSat,
        t.feeRate,
        t.label,
      ]
        .map(csvCell)
        .join(','),
    )
  }
  return rows.join('\n') + '\n'
}

/** The account's labels and frozen coins as BIP329 records (frozen: an output with spendable false). */
export function labelRecords(
  state: AccountState,
  labels: ReadonlyMap<string, string>,
  frozen: ReadonlySet<string>,
): Bip329Record[] {
  const out: Bip329Record[] = [{ type: 'xpub', ref: state.account.xpub, label: state.account.name }]
  const outputs = new Map<string, Bip329Record>()
  for (const [key, label] of labels) {
    const i = key.indexOf(':')
    const type = key.slice(0, i) as 'tx' | 'addr' | 'output'
    const ref = key.slice(i + 1)
    const origin = type === 'addr' ? addressOrigin(state, ref) : undefined
    const r: Bip329Record = { type, ref, label, ...(origin ? { origin } : {}) }
    if (type === 'output') outputs.set(ref, r)
    else out.push(r)
  }
  for (const op of frozen)
    outputs.set(op, { ...(outputs.get(op) ?? { type: 'output', ref: op }), spendable: false })
  out.push(...outputs.values())
  return out
}

function addressOrigin(state: AccountState, address: string): string | undefined {
  for (const list of state.chains)
    for (const a of list)
      if (a?.derived.address === address)
        return `${state.account.kind}([${a.derived.derivation.masterFingerprint}${a.derived.derivation.path.slice(1)}])`
  return undefined
}
