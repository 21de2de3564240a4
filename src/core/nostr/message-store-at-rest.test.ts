// Decrypted messages at rest: sealed under the box key with the message id as associated data;
// messages stored before the owner's password are sealed on unlock with no plain copy left in the
// database or its WAL; a text moved to another message does not open; a locked box refuses.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BoxKey } from '../secrets/box-key'
import { MessageStore } from './message-store'

const ME = 'a'.repeat(64)
const PEER = 'b'.repeat(64)
let dir: string
let boxDir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'messages-at-rest-'))
  boxDir = mkdtempSync(join(tmpdir(), 'messages-at-rest-box-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(boxDir, { recursive: true, force: true })
})

const dbPath = () => join(dir, `messages-${ME}.sqlite`)
const onDisk = () =>
  Buffer.concat(
    [dbPath(), `${dbPath()}-wal`].filter(existsSync).map((f) => readFileSync(f)),
  ).toString('latin1')

const msg = (id: string, content: string) => ({
  id,
  conversationId: 'dm:' + PEER,
  kind: 14,
  author: PEER,
  content,
  createdAt: 1_700_000_000 + id.length,
  legacy: false,
  fromMe: false,
})

describe('message store at rest', () => {
  it('seals old and new messages under the box key and reads them back', async () => {
    const box = new BoxKey(boxDir)
    const store = new MessageStore(dir, ME, box)
    store.ensureConversation({ id: 'dm:' + PEER, kind: 'dm', peers: [PEER], createdAt: 1 })
    store.addMessage(msg('m1', 'the till code is 4711'))
    expect(onDisk()).toContain('the till code is 4711') // no password yet: stored as it came

    await box.enterPassword('owner password')
    store.addMessage(msg('m22', 'meet at the back door'))
    expect(onDisk()).not.toContain('the till code is 4711')
    expect(onDisk()).not.toContain('meet at the back door')
    expect(store.messages('dm:' + PEER, 10).map((m) => m.content)).toEqual([
      'the till code is 4711',
      'meet at the back door',
    ])
    expect(store.conversations()[0]?.last?.content).toBe('meet at the back door')
    store.close()

    // One message's sealed text copied over another's does not open there.
    const raw = new DatabaseSync(dbPath())
    const sealed = raw.prepare("SELECT content FROM messages WHERE id = 'm1'").get() as {
      content: string
    }
    raw.prepare("UPDATE messages SET content = ? WHERE id = 'm22'").run(sealed.content)
    raw.close()
    const reopened = new MessageStore(dir, ME, box)
    expect(reopened.message('m1')?.content).toBe('the till code is 4711')
    expect(() => reopened.message('m22')).toThrow(
      expect.objectContaining({ code: 'box.sealed_damaged' }),
    )
    reopened.close()

    // After a restart, before the owner password: nothing is read or written.
    const locked = new MessageStore(dir, ME, new BoxKey(boxDir))
    expect(() => locked.message('m1')).toThrow(expect.objectContaining({ code: 'box.locked' }))
    expect(() => locked.addMessage(msg('m333', 'x'))).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
    locked.close()
  })
})
