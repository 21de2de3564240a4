// SIMULATOR — test-only. What LND keeps on disk so that a killed node comes back as it was:
// channel.db (channels with their balances and in-flight HTLCs, invoices, payments and their
// attempts — LND's control tower — and the indices) and, from wallet.db, the wallet's birthday
// and address indices (the keys come from the seed again). One file per node at LND's path,
// `<lnddir>/data/graph/<network>/channel.db`, written atomically on every change (write, fsync,
// rename), so a SIGKILL leaves the last committed state.
//
// On restart, as LND does:
// - a channel is restored once both of its nodes are back (channels only exist between nodes of
//   one process here), from whichever side's record is newer (higher commitment number), and
//   its peer is reconnected;
// - an HTLC locked along a payment's route follows the payee's invoice: settled → the preimage
//   goes back hop by hop and the payment succeeds; canceled or unknown → failed back. An
//   attempt that had not reached the payee when the process died is failed back (LND: the HTLC
//   was never committed downstream). SIMULATOR: a resumed payment is not retried on a new route
//   (LND may retry while the payment's timeout has not passed).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { renameSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as bitcoin from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { BIP32Factory, type BIP32Interface } from 'bip32'
import type { LightningWorld } from './lightning-world'
import { LndNode, type Channel, type Htlc, type Invoice, type Payment } from './lnd-node'

const bip32 = BIP32Factory(ecc)

export function channelDbPath(lnddir: string, network: string): string {
  return join(lnddir, 'data', 'graph', network, 'channel.db')
}

// --- encoding: JSON with tags for what JSON cannot hold -------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

function isBip32(v: object): v is BIP32Interface {
  return 'chainCode' in v && typeof (v as BIP32Interface).toBase58 === 'function'
}

function encode(v: unknown): Json {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return { $n: v.toString() }
  if (typeof v === 'function') return null
  if (typeof v !== 'object') return v as Json
  if (v instanceof LndNode) return { $node: v.pubkey }
  if (v instanceof bitcoin.Transaction) return { $tx: v.toHex() }
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('hex') }
  if (isBip32(v)) return { $k: v.toBase58() }
  if (Array.isArray(v)) return v.map(encode)
  const out: Record<string, Json> = {}
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'function') out[k] = encode(x)
  return out
}

function decode(v: Json, world: LightningWorld): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map((x) => decode(x, world))
  if (typeof v.$n === 'string') return BigInt(v.$n)
  if (typeof v.$b === 'string') return Buffer.from(v.$b, 'hex')
  if (typeof v.$tx === 'string') return bitcoin.Transaction.fromHex(v.$tx)
  if (typeof v.$k === 'string') return bip32.fromBase58(v.$k, world.chain.network)
  if (typeof v.$node === 'string') {
    const n = world.nodes.get(v.$node)
    if (!n) throw new Error(`channel.db names node ${v.$node}, which is not running`)
    return n
  }
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) out[k] = decode(x, world)
  return out
}

interface ChannelRecord {
  id: string // pendingChanId hex
  opener: string
  accepter: string
  commitNum: number
  body: Json
}

interface ChannelDbFile {
  simulator: 'lnd-world channel.db'
  version: 1
  pubkey: string
  counters: ReturnType<LndNode['counters']>
  wallet: ReturnType<LndNode['wallet']['persistentState']>
  invoices: Json[]
  payments: Json[]
  channels: ChannelRecord[]
}

function snapshot(node: LndNode): ChannelDbFile {
  return {
    simulator: 'lnd-world channel.db',
    version: 1,
    pubkey: node.pubkey,
    counters: node.counters(),
    wallet: node.wallet.persistentState(),
    invoices: [...node.invoices.values()].map((i) => encode({ ...i, waiters: [] })),
    payments: [...node.payments.values()].map((p) => encode(p)),
    channels: node.channels.map((c) => ({
      id: c.pendingChanId.toString('hex'),
      opener: c.nodes.opener.pubkey,
      accepter: c.nodes.accepter.pubkey,
      commitNum: c.commitNum,
      body: encode(c),
    })),
  }
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  const d = openSync(dirname(file), 'r')
  try {
    fsyncSync(d)
  } finally {
    closeSync(d)
  }
}

// --- restore --------------------------------------------------------------------------------------

interface Pending {
  /** Channel records whose other node is not back yet, by pendingChanId. */
  readonly channels: Map<string, { record: ChannelRecord; by: LndNode }>
  /** Restored payments still IN_FLIGHT whose route is not complete yet. */
  readonly payments: Set<{ node: LndNode; payment: Payment }>
}
const pendingOf = new WeakMap<LightningWorld, Pending>()
const pending = (world: LightningWorld): Pending => {
  let p = pendingOf.get(world)
  if (!p) pendingOf.set(world, (p = { channels: new Map(), payments: new Set() }))
  return p
}

function linkChannel(world: LightningWorld, record: ChannelRecord): Channel {
  const c = decode(record.body, world) as Channel
  c.htlcs = c.htlcs ?? []
  const { opener, accepter } = c.nodes
  opener.channels.push(c)
  accepter.channels.push(c)
  if (c.announced && c.scid) {
    for (const n of [opener, accepter])
      world.graph.announceNode({
        pubkey: n.pubkey,
        alias: n.alias,
        color: n.color,
        addresses: [n.p2pAddress],
      })
    world.graph.announceChannel({
      channelId: c.scid,
      chanPoint: `${c.fundingTxid}:${c.fundingVout}`,
      capacitySat: c.capacitySat,
      nodeA: opener.pubkey,
      nodeB: accepter.pubkey,
      policyA: c.policies.opener,
      policyB: c.policies.accepter,
    })
  }
  // LND reconnects to the peers it has channels with.
  if (c.state !== 'closed' && !opener.peers.has(accepter.pubkey))
    opener.connect(accepter.pubkey, accepter.p2pAddress)
  return c
}

/** Follows one restored in-flight payment to its end, or returns false when a hop is not back. */
function resume(world: LightningWorld, node: LndNode, p: Payment): boolean {
  const attempts = p.attempts.filter((a) => a.status === 'IN_FLIGHT')
  for (const a of attempts)
    for (const hop of a.route.hops) if (!world.nodes.has(hop.pubkey)) return false
  const finish = () => {
    if (p.attempts.some((a) => a.status === 'IN_FLIGHT')) return
    const won = p.attempts.filter((a) => a.status === 'SUCCEEDED')
    if (won.length > 0) {
      p.status = 'SUCCEEDED'
      p.preimage = won[0]!.preimage!.toString('hex')
      p.feeMsat = won.reduce((s, a) => s + a.route.totalFeesMsat, 0n)
      node.say(`Payment succeeded after restart: index=${p.index} fee_msat=${p.feeMsat}`)
    } else {
      p.status = 'FAILED'
      p.failureReason = p.attempts.some(
        (a) => a.failure?.code === 'INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS',
      )
        ? 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'
        : 'FAILURE_REASON_ERROR'
      node.say(`Payment failed after restart: index=${p.index} reason=${p.failureReason}`)
    }
    node.emit('payment', p)
  }
  for (const a of attempts) {
    const locked: { c: Channel; h: Htlc }[] = []
    let from = node
    for (const hop of a.route.hops) {
      const c = from.channels.find((x) => x.scid === hop.channelId)
      const to = world.nodes.get(hop.pubkey)!
      const side = c ? from.sideOf(c) : undefined
      const amount = hop.amtToForwardMsat + hop.feeMsat
      const h = c?.htlcs.find(
        (x) =>
          x.hash === p.hash &&
          x.from === side &&
          x.amountMsat === amount &&
          !locked.some((l) => l.h === x),
      )
      if (!c || !h) break
      locked.push({ c, h })
      from = to
    }
    const settle = (preimage: Buffer) => {
      for (const l of [...locked].reverse()) world.settleHtlc(l.c, l.h)
      a.status = 'SUCCEEDED'
      a.preimage = preimage
      a.resolveTimeNs = BigInt(Date.now()) * 1_000_000n
      node.emit('payment', p)
      finish()
    }
    const fail = (code: 'INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS' | 'TEMPORARY_CHANNEL_FAILURE') => {
      for (const l of [...locked].reverse()) world.failHtlc(l.c, l.h)
      a.status = 'FAILED'
      a.failure = {
        code,
        failureSourceIndex: locked.length,
        height: world.chain.tipHeight(),
      }
      a.resolveTimeNs = BigInt(Date.now()) * 1_000_000n
      node.emit('payment', p)
      finish()
    }
    if (locked.length < a.route.hops.length) {
      fail('TEMPORARY_CHANNEL_FAILURE')
      continue
    }
    const payee = world.nodes.get(a.route.hops[a.route.hops.length - 1]!.pubkey)!
    const inv: Invoice | undefined = payee.invoices.get(p.hash)
    if (inv?.state === 'SETTLED' && inv.preimage) settle(inv.preimage)
    else if (!inv || inv.state === 'CANCELED') fail('INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS')
    else
      inv.waiters.push((r) =>
        r.ok ? settle(r.preimage) : fail('INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS'),
      )
  }
  if (attempts.length === 0) finish()
  return true
}

/**
 * Opens a node's channel.db: restores what it holds (when the file exists), then writes the
 * node's state on every change. Call right after the node joins the world (wallet unlocked).
 */
export function openChannelDb(world: LightningWorld, node: LndNode, file: string): () => void {
  const p = pending(world)
  if (existsSync(file)) {
    const db = JSON.parse(readFileSync(file, 'utf8')) as ChannelDbFile
    if (db.simulator !== 'lnd-world channel.db' || db.pubkey !== node.pubkey)
      throw new Error(`${file} is not this node's channel.db`)
    node.restoreCounters(db.counters)
    node.wallet.restoreState(db.wallet)
    for (const j of db.invoices) {
      const inv = decode(j, world) as Invoice
      inv.waiters = []
      node.invoices.set(inv.hash.toString('hex'), inv)
    }
    for (const j of db.payments) {
      const pay = decode(j, world) as Payment
      node.payments.set(pay.hash, pay)
      if (pay.status === 'IN_FLIGHT') p.payments.add({ node, payment: pay })
    }
    for (const record of db.channels) {
      const otherKey = record.opener === node.pubkey ? record.accepter : record.opener
      const waiting = p.channels.get(record.id)
      if (waiting) {
        p.channels.delete(record.id)
        linkChannel(world, waiting.record.commitNum > record.commitNum ? waiting.record : record)
      } else if (world.nodes.has(otherKey) && otherKey !== node.pubkey) {
        // The other node is running but had no record of it (it was created after its last
        // write): this side's record is all there is.
        const known = world.nodes
          .get(otherKey)!
          .channels.some((c) => c.pendingChanId.toString('hex') === record.id)
        if (!known) linkChannel(world, record)
      } else {
        p.channels.set(record.id, { record, by: node })
      }
    }
    node.say(
      `channel.db restored: ${db.channels.length} channel(s), ${db.invoices.length} invoice(s), ${db.payments.length} payment(s)`,
    )
    world.onChainChange()
  }
  for (const entry of [...p.payments])
    if (resume(world, entry.node, entry.payment)) p.payments.delete(entry)
  const save = () => writeAtomic(file, JSON.stringify(snapshot(node)))
  const events = ['payment', 'invoice', 'chan-update', 'channel', 'backup', 'transaction']
  for (const e of events) node.on(e, save)
  const offWallet = node.wallet.onStateChange(save)
  save()
  return () => {
    for (const e of events) node.off(e, save)
    offWallet()
  }
}
