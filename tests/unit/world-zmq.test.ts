// ZMQ rawblock / rawtx from the bitcoind simulator (world mode) against what Bitcoin Core v31
// published (tests/fixtures/bitcoind-v31/zmq.json): three frames (topic, body, 4-byte LE sequence),
// one counter per topic, rawtx for each block transaction (coinbase first) before the rawblock,
// and rawtx again when a transaction enters the mempool. The subscriber here is a minimal ZMTP 3
// SUB written from the spec (https://rfc.zeromq.org/spec/23/).
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Block } from 'bitcoinjs-lib'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { Chain } from '../simulators/world/chain'
import { zmtpFrame, zmtpGreeting, ZmtpReader, zmtpReady } from '../simulators/world/zmq-pub'

const dir = join(__dirname, '../fixtures/bitcoind-v31')
const zmq = JSON.parse(readFileSync(join(dir, 'zmq.json'), 'utf8')) as {
  startup_first_messages: { messages: Recorded[] }
  two_transaction_block: { txids: string[]; messages: Recorded[] }
}
interface Recorded {
  topic: string
  sequence: number
  txid?: string
  block_hash?: string
  body_hex: string
}
const blocks = readFileSync(join(dir, 'chain/blocks.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { height: number; block: string })

interface Message {
  topic: string
  body: Buffer
  sequence: number
}

/** Connects a SUB socket subscribed to `topic`; collects complete three-frame messages. */
async function subscribe(port: number, topic: string, into: Message[]): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const reader = new ZmtpReader()
  let parts: Buffer[] = []
  let ready = false
  let onReady: () => void = () => undefined
  const readyP = new Promise<void>((r) => (onReady = r))
  socket.write(zmtpGreeting(false))
  socket.write(zmtpReady('SUB'))
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk)
    if (!reader.greeted && !reader.greeting()) return
    for (let f = reader.frame(); f; f = reader.frame()) {
      if (f.flags & 0x04) {
        if (!ready && f.body.subarray(1, 6).toString() === 'READY') {
          ready = true
          // ZMTP 3.0 subscription: a message whose first byte is 1, then the prefix.
          socket.write(zmtpFrame(Buffer.concat([Buffer.from([1]), Buffer.from(topic)]), 0))
          onReady()
        }
        continue
      }
      parts.push(Buffer.from(f.body))
      if (!(f.flags & 0x01)) {
        into.push({
          topic: parts[0]!.toString(),
          body: parts[1]!,
          sequence: parts[2]!.readUInt32LE(0),
        })
        parts = []
      }
    }
  })
  await readyP
  // Let the subscription reach the publisher before anything is published.
  await new Promise((r) => setTimeout(r, 50))
  return socket
}

const perTopic = <T extends { topic: string }>(l: T[]): Record<string, T[]> => ({
  rawtx: l.filter((m) => m.topic === 'rawtx'),
  rawblock: l.filter((m) => m.topic === 'rawblock'),
})

let sim: BitcoindSimulator | undefined
const sockets: Socket[] = []
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await sim?.close()
})

describe('bitcoind simulator ZMQ (world mode) numbers messages as Bitcoin Core v31', () => {
  it('publishes rawtx for each block transaction then rawblock, with per-topic sequences', async () => {
    const chain = new Chain({ now: () => 1_796_441_000_000 })
    sim = await startBitcoindSimulator({
      rpcauth: [makeRpcauth('u', 'p', '0123456789abcdef0123456789abcdef')],
      chain,
      zmq: { rawblockPort: 0, rawtxPort: 0 },
      log: () => undefined,
    })
    const got: Message[] = []
    sockets.push(await subscribe(sim.zmq.rawtx!, 'rawtx', got))
    sockets.push(await subscribe(sim.zmq.rawblock!, 'rawblock', got))

    // Startup: rawtx 0 was the genesis coinbase, published before anyone could subscribe.
    for (let h = 1; h <= 3; h++) chain.submitBlock(blocks[h]!.block)
    const want = zmq.startup_first_messages.messages.filter(
      (m) => !(m.topic === 'rawtx' && m.sequence === 0),
    )
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(want.length)
    // Each topic is its own socket: order is defined per topic, not across them.
    expect(
      perTopic(
        got.map((m) => ({
          topic: m.topic,
          sequence: m.sequence,
          body_hex: m.body.toString('hex'),
        })),
      ),
    ).toEqual(
      perTopic(want.map((m) => ({ topic: m.topic, sequence: m.sequence, body_hex: m.body_hex }))),
    )

    // Up to block 115, then block 116's two transactions sent and the block mined.
    for (let h = 4; h <= 115; h++) {
      const b = Block.fromHex(blocks[h]!.block)
      for (const tx of b.transactions!.slice(1))
        if (!chain.mempoolEntry(tx.getId())) chain.submit(tx)
      chain.submitBlock(b)
    }
    // Let everything published so far arrive (block 115 is rawblock 114), then start afresh.
    await expect
      .poll(() => got.some((m) => m.topic === 'rawblock' && m.sequence === 114), { timeout: 5_000 })
      .toBe(true)
    await new Promise((r) => setTimeout(r, 100))
    got.length = 0
    const b116 = Block.fromHex(blocks[116]!.block)
    const rec = zmq.two_transaction_block
    const byId = new Map(b116.transactions!.map((t) => [t.getId(), t]))
    for (const m of rec.messages.slice(0, 2)) chain.submit(byId.get(m.txid!)!)
    chain.submitBlock(b116)
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(rec.messages.length)
    // Bodies and order as recorded; rawblock's counter is deterministic (one per block since
    // start), rawtx's depends on how many transactions came before, so it is checked as a run.
    expect(
      perTopic(got.map((m) => ({ topic: m.topic, body_hex: m.body.toString('hex') }))),
    ).toEqual(perTopic(rec.messages.map((m) => ({ topic: m.topic, body_hex: m.body_hex }))))
    const rawblock = (l: Array<{ topic: string; sequence: number }>) =>
      l.filter((m) => m.topic === 'rawblock').map((m) => m.sequence)
    expect(rawblock(got)).toEqual(rawblock(rec.messages))
    const txSeq = got.filter((m) => m.topic === 'rawtx').map((m) => m.sequence)
    expect(txSeq).toEqual(txSeq.map((_, i) => txSeq[0]! + i))
  })
})
