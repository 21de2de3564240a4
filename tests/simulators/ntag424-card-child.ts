// SIMULATOR process — one NTAG 424 emulator, driven by its parent over IPC
// (ntag424-card-process.ts). Ends when the parent goes away.
import { fromHex, hex } from '../../src/core/boltcard/aes-cmac'
import type { CardAnswer, CardCommand, CardState } from './ntag424-card-process'
import { Ntag424Emulator } from './ntag424-emulator'

const card = new Ntag424Emulator({ uid: fromHex(process.env.NTAG424_UID!) })

const state = (): CardState => ({
  keys: card.keys.map(hex),
  keyVersions: [...card.keyVersions],
  isFactory: card.isFactory,
  received: card.received.length,
  readCounter: card.readCounter,
})

async function run(cmd: CardCommand): Promise<CardState> {
  switch (cmd.op) {
    case 'insert':
      await card.insert(cmd.port)
      return state()
    case 'remove':
      await card.remove()
      return state()
    case 'state':
      return state()
  }
}

process.on('message', (cmd: CardCommand) => {
  run(cmd).then(
    (s) => process.send!({ id: cmd.id, ok: true, state: s } satisfies CardAnswer),
    (err: unknown) =>
      process.send!({ id: cmd.id, ok: false, error: String(err) } satisfies CardAnswer),
  )
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => {
  void card.remove().finally(() => process.exit(0))
})
