// Pathfinding over the world's gossip graph, as LND computes routes: fees added backwards from
// the destination (base + amount × ppm / 1e6 of each forwarding hop's outgoing policy), time
// lock deltas, the sender's own channels limited by balance, failed edges left out.
import { describe, expect, it } from 'vitest'
import { GossipGraph, type RoutingPolicy } from '../simulators/world/lightning-graph'

const policy = (feeBaseMsat: bigint, feeRatePpm: bigint, timeLockDelta = 40): RoutingPolicy => ({
  feeBaseMsat,
  feeRatePpm,
  timeLockDelta,
  minHtlcMsat: 1000n,
  maxHtlcMsat: 990_000_000n,
  disabled: false,
  lastUpdate: 0,
})

// a → b → d (b: 1000 msat + 1 ppm) and a → c → d (c: 0 msat + 5000 ppm)
function diamond() {
  const g = new GossipGraph()
  const edge = (id: bigint, x: string, y: string, px: RoutingPolicy, py: RoutingPolicy) =>
    g.announceChannel({
      channelId: id,
      chanPoint: `${id}:0`,
      capacitySat: 1_000_000n,
      nodeA: x,
      nodeB: y,
      policyA: px,
      policyB: py,
    })
  edge(1n, 'a', 'b', policy(1000n, 1n), policy(1000n, 1n))
  edge(2n, 'b', 'd', policy(1000n, 1n, 80), policy(1000n, 1n))
  edge(3n, 'a', 'c', policy(1000n, 1n), policy(0n, 5000n))
  edge(4n, 'c', 'd', policy(0n, 5000n, 30), policy(1000n, 1n))
  return g
}
const bandwidth = new Map([
  [1n, 500_000_000n],
  [3n, 500_000_000n],
])

describe('GossipGraph.findRoute (world LND SIMULATOR)', () => {
  it('picks the cheaper path and sets amounts, fees and expiries as LND hops do', () => {
    const r = diamond().findRoute({
      source: 'a',
      target: 'd',
      amountMsat: 100_000n, // c would charge 500 msat, b charges 1000 + 0 = 1000
      finalCltvDelta: 18,
      height: 100,
      localBandwidth: bandwidth,
    })!
    expect(r.hops.map((h) => h.pubkey)).toEqual(['c', 'd'])
    expect(r.hops[0]).toMatchObject({
      channelId: 3n,
      amtToForwardMsat: 100_000n,
      feeMsat: 500n,
      expiry: 118,
    })
    expect(r.hops[1]).toMatchObject({
      channelId: 4n,
      amtToForwardMsat: 100_000n,
      feeMsat: 0n,
      expiry: 118,
    })
    expect(r).toMatchObject({ totalAmtMsat: 100_500n, totalFeesMsat: 500n, totalTimeLock: 148 })
  })

  it('for a large amount the proportional fee makes the other path cheaper', () => {
    const r = diamond().findRoute({
      source: 'a',
      target: 'd',
      amountMsat: 10_000_000n, // c: 50,000 msat; b: 1000 + 10 = 1010 msat
      finalCltvDelta: 18,
      height: 100,
      localBandwidth: bandwidth,
    })!
    expect(r.hops.map((h) => h.pubkey)).toEqual(['b', 'd'])
    expect(r.totalFeesMsat).toBe(1010n)
    expect(r.totalTimeLock).toBe(100 + 18 + 80)
  })

  it('leaves out failed edges, and the sender’s channels without enough balance', () => {
    const g = diamond()
    const q = { source: 'a', target: 'd', amountMsat: 10_000_000n, finalCltvDelta: 18, height: 100 }
    const r = g.findRoute({ ...q, localBandwidth: bandwidth, excludedEdges: new Set(['2:b']) })!
    expect(r.hops.map((h) => h.pubkey)).toEqual(['c', 'd'])
    expect(
      g.findRoute({
        ...q,
        localBandwidth: new Map([
          [1n, 5_000_000n],
          [3n, 5_000_000n],
        ]),
      }),
    ).toBeNull()
    expect(g.findRoute({ ...q, localBandwidth: bandwidth, feeLimitMsat: 1000n })).toBeNull()
  })

  it('no path, disabled and closed channels', () => {
    const g = diamond()
    const q = {
      source: 'a',
      target: 'e',
      amountMsat: 1000n,
      finalCltvDelta: 18,
      height: 1,
      localBandwidth: bandwidth,
    }
    expect(g.findRoute(q)).toBeNull()
    g.updatePolicy(2n, 'b', { disabled: true })
    g.closeChannel(4n)
    expect(g.findRoute({ ...q, target: 'd' })).toBeNull()
  })

  it('finds a circular route back to the source, out and in by the channels asked for (rebalancing)', () => {
    // a's two channels: 1 (a–b) and 3 (a–c); b and c meet at d. Out by 1, back from c.
    const r = diamond().findRoute({
      source: 'a',
      target: 'a',
      amountMsat: 1_000_000n,
      finalCltvDelta: 40,
      height: 100,
      localBandwidth: bandwidth,
      outgoingChannelIds: new Set([1n]),
      lastHop: 'c',
    })!
    expect(r.hops.map((h) => [h.channelId, h.pubkey])).toEqual([
      [1n, 'b'],
      [2n, 'd'],
      [4n, 'c'],
      [3n, 'a'],
    ])
    // b, d and c each charge their outgoing policy; the source keeps nothing.
    expect(r.hops.at(-1)).toMatchObject({ amtToForwardMsat: 1_000_000n, feeMsat: 0n })
    expect(r.hops[2]!.feeMsat).toBe(5000n) // c's policy on channel 3: 0 msat + 5000 ppm
    expect(r.totalFeesMsat).toBe(r.hops.reduce((n, h) => n + h.feeMsat, 0n))
    // Without bandwidth on the channel asked for, there is no route.
    expect(
      diamond().findRoute({
        source: 'a',
        target: 'a',
        amountMsat: 1_000_000n,
        finalCltvDelta: 40,
        height: 100,
        localBandwidth: new Map([[3n, 500_000_000n]]),
        outgoingChannelIds: new Set([1n]),
        lastHop: 'c',
      }),
    ).toBeNull()
  })
})
