// SIMULATOR — test-only. The Lightning side of the simulated world: every LND node on one chain
// backend and one gossip graph. It watches the chain for the channel lifecycle (funding
// confirmations → open → announced at 6 confirmations; closing transaction confirmed → closed;
// force close: to_local swept once its CSV delay has passed) and carries HTLCs hop by hop
// between nodes, checking each forwarding node's fee, balance and peer connection.
import type * as bitcoin from 'bitcoinjs-lib'
import { GossipGraph, type GraphEdge, type Route } from './lightning-graph'
import type { LndChainBackend } from './lnd-chain-backend'
import { LndNode, type Channel, type FailureCode, type Htlc, type NodeOptions } from './lnd-node'

/** LND announces a public channel once its funding transaction is 6 blocks deep. */
export const ANNOUNCEMENT_CONFS = 6

type DispatchResult =
  { ok: true; preimage: Buffer } | { ok: false; code: FailureCode; index: number }

export class LightningWorld {
  readonly graph = new GossipGraph()
  readonly nodes = new Map<string, LndNode>()
  private readonly txLoc = new Map<string, { height: number; index: number }>()
  private readonly blockHashes: string[] = []
  private readonly blockTxids: string[][] = []
  private syncing = false
  private again = false
  private nextPort = 9735
  private readonly unsubscribe: () => void

  constructor(readonly chain: LndChainBackend) {
    this.unsubscribe = chain.subscribe(() => this.onChainChange())
  }

  addNode(opts: NodeOptions): LndNode {
    const node = new LndNode(this, opts, this.nextPort++)
    if (this.nodes.has(node.pubkey)) throw new Error(`node ${node.pubkey} already in the world`)
    this.nodes.set(node.pubkey, node)
    node.wallet.sync()
    return node
  }

  removeNode(node: LndNode): void {
    node.goOffline()
    node.close()
    this.nodes.delete(node.pubkey)
  }

  close(): void {
    this.unsubscribe()
    for (const n of this.nodes.values()) n.close()
  }

  byAlias(alias: string): LndNode {
    for (const n of this.nodes.values()) if (n.alias === alias) return n
    throw new Error(`no node called ${alias}`)
  }

  channels(): Channel[] {
    const set = new Set<Channel>()
    for (const n of this.nodes.values()) for (const c of n.channels) set.add(c)
    return [...set]
  }

  /** Where a transaction confirmed on the best chain, if it did. */
  confirmation(txid: string): { height: number; index: number } | undefined {
    return this.txLoc.get(txid)
  }

  confirmations(txid: string): number {
    const loc = this.txLoc.get(txid)
    return loc ? this.chain.tipHeight() - loc.height + 1 : 0
  }

  private indexChain(): void {
    const tip = this.chain.tipHeight()
    for (;;) {
      const h = this.blockHashes.length - 1
      if (h < 0) break
      const b = h <= tip ? this.chain.block(h) : null
      if (b && b.hash === this.blockHashes[h]) break
      this.blockHashes.pop()
      for (const txid of this.blockTxids.pop() ?? []) this.txLoc.delete(txid)
    }
    for (let h = this.blockHashes.length; h <= tip; h++) {
      const b = this.chain.block(h)
      if (!b) break
      const ids = b.txs.map((tx: bitcoin.Transaction, index) => {
        const id = tx.getId()
        this.txLoc.set(id, { height: h, index })
        return id
      })
      this.blockHashes.push(b.hash)
      this.blockTxids.push(ids)
    }
  }

  /** Re-reads the chain and moves every channel along its lifecycle. Re-entrant calls coalesce. */
  onChainChange(): void {
    if (this.syncing) {
      this.again = true
      return
    }
    this.syncing = true
    try {
      do {
        this.again = false
        this.indexChain()
        for (const n of this.nodes.values()) n.wallet.sync()
        for (const c of this.channels()) this.advance(c)
      } while (this.again)
    } finally {
      this.syncing = false
    }
  }

  private advance(c: Channel): void {
    const { opener, accepter } = c.nodes
    const tip = this.chain.tipHeight()
    if (c.state === 'pending_open') {
      const loc = this.txLoc.get(c.fundingTxid)
      if (loc && tip - loc.height + 1 >= opener.fundingConfs) {
        c.confirmedHeight = loc.height
        c.scid = (BigInt(loc.height) << 40n) | (BigInt(loc.index) << 16n) | BigInt(c.fundingVout)
        c.state = 'open'
        opener.channelOpened(c)
        accepter.channelOpened(c)
      }
    }
    if (c.state === 'open' && !c.announced && !c.private) {
      if (this.confirmations(c.fundingTxid) >= ANNOUNCEMENT_CONFS) {
        c.announced = true
        for (const n of [opener, accepter])
          this.graph.announceNode({
            pubkey: n.pubkey,
            alias: n.alias,
            color: n.color,
            addresses: [n.p2pAddress],
          })
        this.graph.announceChannel({
          channelId: c.scid,
          chanPoint: `${c.fundingTxid}:${c.fundingVout}`,
          capacitySat: c.capacitySat,
          nodeA: opener.pubkey,
          nodeB: accepter.pubkey,
          policyA: c.policies.opener,
          policyB: c.policies.accepter,
        })
      }
    }
    if (c.state === 'waiting_close' && c.close) {
      const loc = this.txLoc.get(c.close.txid)
      if (loc) {
        c.close.height = loc.height
        c.state =
          c.close.type === 'COOPERATIVE_CLOSE' || !c.close.toLocal ? 'closed' : 'force_closing'
        opener.channelClosed(c)
        accepter.channelClosed(c)
        if (c.state === 'closed') {
          opener.channelResolved(c)
          accepter.channelResolved(c)
        } else c.nodes[c.close.initiator === 'opener' ? 'accepter' : 'opener'].channelResolved(c)
      }
    }
    if (c.state === 'force_closing' && c.close?.toLocal) {
      const tl = c.close.toLocal
      const owner = c.nodes[tl.side]
      if (!c.close.sweepTxid && this.confirmations(c.close.txid) >= c.csvDelay[tl.side]) {
        const sweep = owner.sweepToLocal(c)
        try {
          owner.wallet.broadcast(sweep, '0:sweep')
          c.close.sweepTxid = sweep.getId()
          owner.say(`Swept time-locked to_local: ${c.close.sweepTxid}`)
        } catch (err) {
          owner.say(`Sweep not accepted yet: ${(err as Error).message}`)
        }
      }
      if (c.close.sweepTxid && this.txLoc.has(c.close.sweepTxid)) {
        c.state = 'closed'
        c.close.timeLockedSat = 0n
        owner.channelResolved(c)
      }
    }
  }

  /** The sender's own unannounced channels, usable as its first hop. */
  privateEdgesOf(node: LndNode): GraphEdge[] {
    return node.channels
      .filter((c) => c.state === 'open' && (c.private || !c.announced))
      .map((c) => {
        const a = c.nodes.opener.pubkey < c.nodes.accepter.pubkey
        return {
          channelId: c.scid,
          chanPoint: `${c.fundingTxid}:${c.fundingVout}`,
          capacitySat: c.capacitySat,
          node1: a ? c.nodes.opener.pubkey : c.nodes.accepter.pubkey,
          node2: a ? c.nodes.accepter.pubkey : c.nodes.opener.pubkey,
          node1Policy: a ? c.policies.opener : c.policies.accepter,
          node2Policy: a ? c.policies.accepter : c.policies.opener,
          lastUpdate: c.openedAt,
        }
      })
  }

  // --- HTLCs ------------------------------------------------------------------------------------

  private changed(c: Channel): void {
    c.commitNum++
    c.nodes.opener.emit('chan-update', c)
    c.nodes.accepter.emit('chan-update', c)
  }

  settleHtlc(c: Channel, h: Htlc): void {
    const i = c.htlcs.indexOf(h)
    if (i < 0) return
    c.htlcs.splice(i, 1)
    c.balanceMsat[h.from === 'opener' ? 'accepter' : 'opener'] += h.amountMsat
    c.sentMsat[h.from] += h.amountMsat
    this.changed(c)
  }

  failHtlc(c: Channel, h: Htlc): void {
    const i = c.htlcs.indexOf(h)
    if (i < 0) return
    c.htlcs.splice(i, 1)
    c.balanceMsat[h.from] += h.amountMsat
    this.changed(c)
  }

  /**
   * Carries one HTLC along `route` (BOLT 4 onion semantics, without the onion): each hop checks
   * its channel to the next node, the peer connection, its fee and its balance; the final node
   * checks the invoice. Failures unwind every locked HTLC and report the failing node's position
   * (0 = sender), as LND's failure_source_index does.
   */
  async dispatch(
    sender: LndNode,
    route: Route,
    hash: string,
    paymentAddr: string,
    totalMsat?: bigint,
  ): Promise<DispatchResult> {
    const locked: { c: Channel; h: Htlc }[] = []
    const fail = (code: FailureCode, index: number): DispatchResult => {
      for (const l of locked.reverse()) this.failHtlc(l.c, l.h)
      return { ok: false, code, index }
    }
    let from = sender
    for (let k = 0; k < route.hops.length; k++) {
      const hop = route.hops[k]!
      const amount = hop.amtToForwardMsat + hop.feeMsat
      await new Promise((r) => setImmediate(r))
      const c = from.channels.find((x) => x.scid === hop.channelId && x.state === 'open')
      const to = this.nodes.get(hop.pubkey)
      if (!from.online) return fail('TEMPORARY_CHANNEL_FAILURE', k - 1 < 0 ? 0 : k - 1)
      if (!c || !to || from.peerOf(c) !== to || !from.isActive(c))
        return fail('UNKNOWN_NEXT_PEER', k)
      if (k > 0) {
        const prev = route.hops[k - 1]!
        const incoming = prev.amtToForwardMsat + prev.feeMsat
        if (incoming - amount < from.fee(c, amount)) return fail('FEE_INSUFFICIENT', k)
      }
      if (from.bandwidthMsat(c) < amount) return fail('TEMPORARY_CHANNEL_FAILURE', k)
      const side = from.sideOf(c)
      c.balanceMsat[side] -= amount
      const h: Htlc = {
        id: c.nextHtlcId++,
        hash,
        amountMsat: amount,
        expiry: hop.expiry,
        from: side,
      }
      c.htlcs.push(h)
      locked.push({ c, h })
      this.changed(c)
      from = to
    }
    await new Promise((r) => setImmediate(r))
    if (!from.online) return fail('UNKNOWN_NEXT_PEER', route.hops.length - 1)
    const last = locked[locked.length - 1]!
    const r = await from.receiveHtlc(last.c, last.h, paymentAddr, totalMsat ?? last.h.amountMsat)
    if (!r.ok) return fail('INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS', route.hops.length)
    for (const l of locked.reverse()) this.settleHtlc(l.c, l.h)
    return { ok: true, preimage: r.preimage }
  }
}
