// SIMULATOR harness — the NTAG 424 emulator (ntag424-emulator.ts) in a process of its own, put on
// vpcd's virtual reader from there. The card must never share an event loop with the PC/SC client
// under test: pcscd waits on the card while the client waits on pcscd, so a card answering from
// the client's own loop deadlocks whenever that loop is blocked (it froze a CI run). A real card
// answers from its own chip; this is the same for the emulator.
//
// The parent (tests) drives it over Node's IPC channel: put on / take off the reader, and read the
// card's state (keys, counters, the APDUs it received). Every request is bounded by a timeout.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { concat, fromHex, hex, type Bytes } from '../../src/core/boltcard/aes-cmac'

export interface CardState {
  readonly keys: string[]
  readonly keyVersions: number[]
  readonly isFactory: boolean
  /** How many command APDUs the card has received so far. */
  readonly received: number
  /** SDMReadCtr of the NDEF file. */
  readonly readCounter: number
}

type Request = { op: 'insert'; port: number } | { op: 'remove' } | { op: 'state' }
export type CardCommand = Request & { id: number }
export type CardAnswer =
  { id: number; ok: true; state: CardState } | { id: number; ok: false; error: string }

const CHILD = resolve(import.meta.dirname, 'ntag424-card-child.ts')
const REQUEST_TIMEOUT_MS = 10_000

export class Ntag424CardProcess {
  private nextId = 1
  private readonly waiting = new Map<number, (a: CardAnswer) => void>()
  private out = ''
  private readonly exited: Promise<void>

  private constructor(
    readonly uid: Bytes,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (a: CardAnswer) => this.waiting.get(a.id)?.(a))
    child.stdout!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-4000)))
    child.stderr!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-4000)))
    this.exited = new Promise((r) => child.once('exit', () => r()))
  }

  /** Starts the card's process (a blank card: factory keys, random 7-byte UID starting 04). */
  static async start(): Promise<Ntag424CardProcess> {
    const uid = concat(Uint8Array.of(0x04), new Uint8Array(randomBytes(6)))
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NTAG424_UID: hex(uid) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const card = new Ntag424CardProcess(uid, child)
    await card.state()
    return card
  }

  private request(cmd: Request): Promise<CardState> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(new Error(`the card process did not answer ${cmd.op} in time:\n${this.out}`))
      }, REQUEST_TIMEOUT_MS)
      const gone = () => {
        clearTimeout(timer)
        this.waiting.delete(id)
        reject(new Error(`the card process ended:\n${this.out}`))
      }
      this.child.once('exit', gone)
      this.waiting.set(id, (a) => {
        clearTimeout(timer)
        this.child.off('exit', gone)
        this.waiting.delete(id)
        if (a.ok) resolve(a.state)
        else reject(new Error(a.error))
      })
      if (!this.child.connected) return gone()
      this.child.send({ ...cmd, id } as CardCommand)
    })
  }

  /** Puts the card on vpcd's virtual reader listening on `port`. */
  insert(port: number): Promise<CardState> {
    return this.request({ op: 'insert', port })
  }

  /** Takes the card off the reader. */
  remove(): Promise<CardState> {
    return this.request({ op: 'remove' })
  }

  state(): Promise<CardState> {
    return this.request({ op: 'state' })
  }

  /** Ends the process (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGTERM')
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000)
    await this.exited
    clearTimeout(t)
  }
}

/** The card's keys as bytes, from its state. */
export const keysOf = (s: CardState): Bytes[] => s.keys.map(fromHex)
