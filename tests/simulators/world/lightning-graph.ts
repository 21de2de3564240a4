// SIMULATOR support — test-only. The channel graph the simulated LND nodes share, as gossip
// (BOLT 7) would give it to each of them: node announcements, channel announcements (a channel
// is announced once its funding transaction has 6 confirmations, as LND does), and one
// channel_update per direction with LND's default policy (base fee 1000 msat, 1 ppm, time lock
// delta 80). Pathfinding works as LND's: from the destination backwards, adding each forwarding
// hop's fee (base + amount × ppm / 1e6) and time lock delta, cheapest route first; the sender's
// own channels are limited by their real local balance, remote channels only by capacity and
// max_htlc, and edges that failed in earlier attempts are left out.

export interface RoutingPolicy {
  timeLockDelta: number
  minHtlcMsat: bigint
  maxHtlcMsat: bigint
  feeBaseMsat: bigint
  feeRatePpm: bigint
  disabled: boolean
  lastUpdate: number
}

export interface GraphNode {
  pubkey: string
  alias: string
  color: string
  addresses: string[]
  lastUpdate: number
}

export interface GraphEdge {
  channelId: bigint
  chanPoint: string
  capacitySat: bigint
  node1: string
  node2: string
  node1Policy: RoutingPolicy
  node2Policy: RoutingPolicy
  lastUpdate: number
}

export const DEFAULT_POLICY = {
  timeLockDelta: 80,
  minHtlcMsat: 1000n,
  feeBaseMsat: 1000n,
  feeRatePpm: 1n,
}

export interface RouteHop {
  channelId: bigint
  capacitySat: bigint
  pubkey: string
  /** What this hop's node forwards (for the last hop: the payment amount). */
  amtToForwardMsat: bigint
  feeMsat: bigint
  expiry: number
}

export interface Route {
  hops: RouteHop[]
  totalAmtMsat: bigint
  totalFeesMsat: bigint
  totalTimeLock: number
}

export function policyFee(p: Pick<RoutingPolicy, 'feeBaseMsat' | 'feeRatePpm'>, amt: bigint) {
  return p.feeBaseMsat + (amt * p.feeRatePpm) / 1_000_000n
}

export class GossipGraph {
  readonly nodes = new Map<string, GraphNode>()
  readonly edges = new Map<bigint, GraphEdge>()
  private readonly listeners = new Set<() => void>()

  onChange(cb: () => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  private changed(): void {
    for (const l of this.listeners) l()
  }

  announceNode(n: Omit<GraphNode, 'lastUpdate'>): void {
    this.nodes.set(n.pubkey, { ...n, lastUpdate: Math.floor(Date.now() / 1000) })
    this.changed()
  }

  announceChannel(e: {
    channelId: bigint
    chanPoint: string
    capacitySat: bigint
    nodeA: string
    nodeB: string
    policyA: RoutingPolicy
    policyB: RoutingPolicy
  }): void {
    const aFirst = e.nodeA < e.nodeB
    const now = Math.floor(Date.now() / 1000)
    this.edges.set(e.channelId, {
      channelId: e.channelId,
      chanPoint: e.chanPoint,
      capacitySat: e.capacitySat,
      node1: aFirst ? e.nodeA : e.nodeB,
      node2: aFirst ? e.nodeB : e.nodeA,
      node1Policy: aFirst ? e.policyA : e.policyB,
      node2Policy: aFirst ? e.policyB : e.policyA,
      lastUpdate: now,
    })
    this.changed()
  }

  /** A channel_update from `from` for its direction of the channel. */
  updatePolicy(channelId: bigint, from: string, update: Partial<RoutingPolicy>): void {
    const e = this.edges.get(channelId)
    if (!e) return
    const p = e.node1 === from ? e.node1Policy : e.node2Policy
    Object.assign(p, update, { lastUpdate: Math.floor(Date.now() / 1000) })
    e.lastUpdate = p.lastUpdate
    this.changed()
  }

  /** The funding output was spent: the channel leaves the graph. */
  closeChannel(channelId: bigint): void {
    if (this.edges.delete(channelId)) this.changed()
  }

  policyFrom(e: GraphEdge, from: string): RoutingPolicy {
    return e.node1 === from ? e.node1Policy : e.node2Policy
  }

  /**
   * The cheapest route from `source` to `target` for `amountMsat`, or null. `localBandwidth`
   * gives the sender's spendable msat per own channel id (channels it does not list are unusable);
   * `excludedEdges` holds `${channelId}:${fromPubkey}` of directions that failed before;
   * `extraEdges` are route hints / private channels of the sender.
   */
  findRoute(q: {
    source: string
    target: string
    amountMsat: bigint
    finalCltvDelta: number
    height: number
    localBandwidth: ReadonlyMap<bigint, bigint>
    excludedEdges?: ReadonlySet<string>
    excludedNodes?: ReadonlySet<string>
    extraEdges?: readonly GraphEdge[]
    feeLimitMsat?: bigint
    /** LND's outgoing_chan_ids: the first hop must leave over one of these channels. */
    outgoingChannelIds?: ReadonlySet<bigint>
    /** LND's last_hop_pubkey: the route must reach the target from this node. */
    lastHop?: string
  }): Route | null {
    // A circular route (source = target, a self-payment as rebalancers send it): the search
    // starts at the target under its own key, so the source is a different node of the search
    // and the route leaves and comes back over two different channels.
    const circular = q.source === q.target
    const TARGET = circular ? `target:${q.target}` : q.target
    const real = (k: string) => (k === TARGET ? q.target : k)
    const adjacency = new Map<string, { edge: GraphEdge; from: string }[]>()
    const add = (edge: GraphEdge) => {
      for (const [from, to] of [
        [edge.node1, edge.node2],
        [edge.node2, edge.node1],
      ] as const) {
        const list = adjacency.get(to) ?? []
        list.push({ edge, from })
        adjacency.set(to, list)
      }
    }
    for (const e of this.edges.values()) add(e)
    for (const e of q.extraEdges ?? []) if (!this.edges.has(e.channelId)) add(e)

    // Reverse Dijkstra: dist[node] = amount node must receive to deliver amountMsat to target.
    interface Label {
      amt: bigint
      cltv: number
      next: string | null
      edge: GraphEdge | null
      hops: number
    }
    const best = new Map<string, Label>()
    best.set(TARGET, {
      amt: q.amountMsat,
      cltv: q.finalCltvDelta,
      next: null,
      edge: null,
      hops: 0,
    })
    const done = new Set<string>()
    for (;;) {
      let cur: string | null = null
      for (const [n, l] of best)
        if (!done.has(n) && (cur === null || l.amt < best.get(cur)!.amt)) cur = n
      if (cur === null) break
      done.add(cur)
      if (cur === q.source) break
      const label = best.get(cur)!
      if (label.hops >= 20) continue
      for (const { edge, from } of adjacency.get(real(cur)) ?? []) {
        if (done.has(from) || q.excludedNodes?.has(from)) continue
        if (cur === TARGET && q.lastHop !== undefined && from !== q.lastHop) continue
        if (
          from === q.source &&
          q.outgoingChannelIds?.size &&
          !q.outgoingChannelIds.has(edge.channelId)
        )
          continue
        if (q.excludedEdges?.has(`${edge.channelId}:${from}`)) continue
        const policy = this.policyFrom(edge, from)
        if (policy.disabled && from !== q.source) continue
        const forward = label.amt
        if (forward < policy.minHtlcMsat || forward > policy.maxHtlcMsat) continue
        if (forward > edge.capacitySat * 1000n) continue
        if (from === q.source) {
          const bw = q.localBandwidth.get(edge.channelId)
          if (bw === undefined || bw < forward) continue
        }
        // The sender pays no fee on its own channel; every other hop charges its policy.
        const fee = from === q.source ? 0n : policyFee(policy, forward)
        const cltv = label.cltv + (from === q.source ? 0 : policy.timeLockDelta)
        const cand: Label = { amt: forward + fee, cltv, next: cur, edge, hops: label.hops + 1 }
        const prev = best.get(from)
        if (!prev || cand.amt < prev.amt || (cand.amt === prev.amt && cand.hops < prev.hops))
          best.set(from, cand)
      }
    }
    const start = best.get(q.source)
    if (!start || !start.edge) return null
    // LND's hops: the node at the end of each channel, the amount it forwards (for the last
    // hop: the payment), the fee it keeps, and the CLTV expiry of the HTLC it sends on.
    const path: { node: string; label: Label }[] = [{ node: q.source, label: start }]
    while (path[path.length - 1]!.label.next !== null) {
      const next = path[path.length - 1]!.label.next!
      path.push({ node: next, label: best.get(next)! })
    }
    const hops: RouteHop[] = []
    for (let k = 1; k < path.length; k++) {
      const incoming = path[k]!.label
      const after = path[k + 1]?.label
      const forward = after ? after.amt : q.amountMsat
      hops.push({
        channelId: path[k - 1]!.label.edge!.channelId,
        capacitySat: path[k - 1]!.label.edge!.capacitySat,
        pubkey: real(path[k]!.node),
        amtToForwardMsat: forward,
        feeMsat: incoming.amt - forward,
        expiry: q.height + (after ? after.cltv : q.finalCltvDelta),
      })
    }
    const totalAmtMsat = start.amt
    const totalFeesMsat = totalAmtMsat - q.amountMsat
    if (q.feeLimitMsat !== undefined && totalFeesMsat > q.feeLimitMsat) return null
    return { hops, totalAmtMsat, totalFeesMsat, totalTimeLock: q.height + start.cltv }
  }
}
