// SIMULATOR — test-only. A ZeroMQ PUB socket over TCP speaking ZMTP 3.0/3.1 with the NULL
// mechanism (https://rfc.zeromq.org/spec/23/ and /spec/37/), enough for bitcoind's
// -zmqpubrawblock / -zmqpubrawtx: each message is three frames — topic, body, and a 4-byte
// little-endian sequence number counted per topic from 0 (Core's CZMQAbstractPublishNotifier).
// Subscribers' prefix filters are honoured (ZMTP 3.0 subscription messages and 3.1 SUBSCRIBE
// commands). Written here because the `zeromq` npm package is a native addon. Not modelled: CURVE
// security, high-water marks (a slow subscriber is buffered, never dropped), multicast.
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

const FLAG_MORE = 0x01
const FLAG_LONG = 0x02
const FLAG_COMMAND = 0x04

/** The 64-byte ZMTP 3.0 greeting for the NULL mechanism, as a server. */
export function zmtpGreeting(asServer: boolean): Buffer {
  const g = Buffer.alloc(64)
  g[0] = 0xff
  g[9] = 0x7f
  g[10] = 3
  g[11] = 0
  g.write('NULL', 12, 'ascii')
  g[32] = asServer ? 1 : 0
  return g
}

/** One ZMTP frame (message part or command). */
export function zmtpFrame(body: Buffer, flags: number): Buffer {
  if (body.length > 255) {
    const h = Buffer.alloc(9)
    h[0] = flags | FLAG_LONG
    h.writeBigUInt64BE(BigInt(body.length), 1)
    return Buffer.concat([h, body])
  }
  return Buffer.concat([Buffer.from([flags, body.length]), body])
}

/** The READY command with a Socket-Type property. */
export function zmtpReady(socketType: string): Buffer {
  const name = Buffer.from('Socket-Type')
  const value = Buffer.from(socketType)
  const len = Buffer.alloc(4)
  len.writeUInt32BE(value.length)
  const body = Buffer.concat([
    Buffer.from([5]),
    Buffer.from('READY'),
    Buffer.from([name.length]),
    name,
    len,
    value,
  ])
  return zmtpFrame(body, FLAG_COMMAND)
}

/** Incremental ZMTP frame reader. */
export class ZmtpReader {
  private buf = Buffer.alloc(0)
  greeted = false

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk])
  }

  /** The peer's greeting once 64 bytes arrived. */
  greeting(): Buffer | undefined {
    if (this.greeted || this.buf.length < 64) return undefined
    const g = this.buf.subarray(0, 64)
    this.buf = this.buf.subarray(64)
    this.greeted = true
    return g
  }

  frame(): { flags: number; body: Buffer } | undefined {
    if (this.buf.length < 2) return undefined
    const flags = this.buf[0]!
    let size: number
    let off: number
    if (flags & FLAG_LONG) {
      if (this.buf.length < 9) return undefined
      size = Number(this.buf.readBigUInt64BE(1))
      off = 9
    } else {
      size = this.buf[1]!
      off = 2
    }
    if (this.buf.length < off + size) return undefined
    const body = this.buf.subarray(off, off + size)
    this.buf = this.buf.subarray(off + size)
    return { flags, body }
  }
}

interface Subscriber {
  readonly socket: Socket
  readonly reader: ZmtpReader
  ready: boolean
  readonly filters: Buffer[]
}

export class ZmqPublisher {
  private readonly subscribers = new Set<Subscriber>()
  private sequence = 0

  private constructor(
    readonly topic: string,
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async listen(topic: string, host: string, port: number): Promise<ZmqPublisher> {
    const holder: { pub?: ZmqPublisher } = {}
    const server = createServer((socket) => holder.pub!.accept(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    holder.pub = new ZmqPublisher(topic, server, (server.address() as AddressInfo).port)
    return holder.pub
  }

  /** Messages published so far on this topic (the next message's sequence number). */
  get published(): number {
    return this.sequence
  }

  private accept(socket: Socket): void {
    const sub: Subscriber = { socket, reader: new ZmtpReader(), ready: false, filters: [] }
    this.subscribers.add(sub)
    socket.setNoDelay(true)
    socket.write(zmtpGreeting(true))
    socket.on('data', (chunk: Buffer) => {
      sub.reader.push(chunk)
      if (!sub.reader.greeted) {
        const g = sub.reader.greeting()
        if (!g) return
        if (g[0] !== 0xff || g[9] !== 0x7f || g[10]! < 3) {
          socket.destroy()
          return
        }
        socket.write(zmtpReady('PUB'))
      }
      for (let f = sub.reader.frame(); f; f = sub.reader.frame()) this.onFrame(sub, f)
    })
    const drop = () => this.subscribers.delete(sub)
    socket.on('close', drop)
    socket.on('error', drop)
  }

  private onFrame(sub: Subscriber, f: { flags: number; body: Buffer }): void {
    if (f.flags & FLAG_COMMAND) {
      const nameLen = f.body[0]!
      const name = f.body.subarray(1, 1 + nameLen).toString('ascii')
      const data = f.body.subarray(1 + nameLen)
      if (name === 'READY') sub.ready = true
      else if (name === 'SUBSCRIBE') sub.filters.push(Buffer.from(data))
      else if (name === 'CANCEL') this.cancel(sub, data)
      return
    }
    // ZMTP 3.0: a message whose first byte is 1 (subscribe) or 0 (unsubscribe).
    if (f.body[0] === 1) sub.filters.push(Buffer.from(f.body.subarray(1)))
    else if (f.body[0] === 0) this.cancel(sub, f.body.subarray(1))
  }

  private cancel(sub: Subscriber, filter: Buffer): void {
    const i = sub.filters.findIndex((x) => x.equals(filter))
    if (i >= 0) sub.filters.splice(i, 1)
  }

  /** Sends [topic, body, sequence LE32] to every matching subscriber and counts the message. */
  publish(body: Buffer): void {
    const seq = Buffer.alloc(4)
    seq.writeUInt32LE(this.sequence >>> 0)
    this.sequence++
    const topic = Buffer.from(this.topic)
    const wire = Buffer.concat([
      zmtpFrame(topic, FLAG_MORE),
      zmtpFrame(body, FLAG_MORE),
      zmtpFrame(seq, 0),
    ])
    for (const sub of this.subscribers) {
      if (!sub.ready) continue
      if (!sub.filters.some((f) => topic.subarray(0, f.length).equals(f))) continue
      sub.socket.write(wire)
    }
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) s.socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
