// The client's local history (node:sqlite): conversations, decrypted messages, per-relay delivery
// results, read markers, gift wraps already opened, and cached profiles. One database per
// identity (messages-<pubkey>.sqlite under dataDir/nostr), so replacing a key never mixes
// histories and never deletes the old one.
// Once the owner has a password, each decrypted message's text is sealed under the box key
// (purpose 'messages', src/core/secrets/box-key.ts) with the message id as associated data, so a
// text cannot be moved to another message. Messages stored before the password are sealed when the
// box unlocks (sealPlainRows); secure_delete and a WAL truncate keep the plain pages off the disk.
// Who wrote to whom and when (ids, authors, times) and public profiles stay readable.
import { DatabaseSync } from 'node:sqlite'
import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { RelayDelivery } from '../../shared/api/nostr'
import { isSealed, type BoxKey } from '../secrets/box-key'

/** The box-key purpose of the sealed message texts. */
export const MESSAGES_PURPOSE = 'messages'

export interface StoredConversation {
  readonly id: string
  readonly kind: 'dm' | 'group'
  readonly title: string | null
  readonly peers: readonly string[]
  readonly groupRelay: string | null
  readonly groupId: string | null
  readonly readSeq: number
  readonly createdAt: number
}

export interface StoredMessage {
  readonly seq: number
  readonly id: string
  readonly conversationId: string
  readonly kind: number
  readonly author: string
  readonly content: string
  readonly createdAt: number
  readonly legacy: boolean
  readonly fromMe: boolean
}

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('dm', 'group')),
  title TEXT,
  peers TEXT NOT NULL DEFAULT '[]',
  group_relay TEXT,
  group_id TEXT,
  read_seq INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  kind INTEGER NOT NULL,
  author TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  legacy INTEGER NOT NULL DEFAULT 0,
  from_me INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, created_at);
CREATE TABLE IF NOT EXISTS deliveries (
  message_id TEXT NOT NULL,
  relay TEXT NOT NULL,
  status TEXT NOT NULL,
  prefix TEXT,
  message TEXT,
  PRIMARY KEY (message_id, relay)
);
CREATE TABLE IF NOT EXISTS opened_wraps (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS profiles (
  pubkey TEXT PRIMARY KEY,
  content TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`

type Row = Record<string, string | number | null>

export class MessageStore {
  private readonly db: DatabaseSync
  private readonly stopWatchingUnlock: () => void

  constructor(
    dir: string,
    pubkey: string,
    /** Seals each message's text once the owner has a password (see the top of this file). */
    private readonly box?: BoxKey,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const path = join(dir, `messages-${pubkey}.sqlite`)
    this.db = new DatabaseSync(path)
    try {
      chmodSync(path, 0o600)
    } catch {
      // best effort on filesystems without modes
    }
    this.db.exec(SCHEMA)
    const unwatch = box?.onUnlock(() => void this.sealPlainRows())
    this.stopWatchingUnlock = () => void unwatch?.()
  }

  close() {
    this.stopWatchingUnlock()
    if (this.db.isOpen) this.db.close()
  }

  private sealContent(id: string, content: string): string {
    if (!this.box || this.box.state === 'none') return content
    this.box.requireUnlocked() // box.locked: the Messages page says so
    return this.box.seal(MESSAGES_PURPOSE, content, id)
  }

  private toMessage(r: Row): StoredMessage {
    const m = toMessage(r)
    if (!isSealed(m.content)) return m // stored before the owner had a password
    if (!this.box) throw new Error('message store: a sealed message but no box key')
    return { ...m, content: this.box.open(MESSAGES_PURPOSE, m.content, m.id).toString('utf8') }
  }

  /** Seals the texts stored before the owner had a password (run on unlock); returns how many. */
  sealPlainRows(): number {
    if (!this.box?.unlocked || !this.db.isOpen) return 0
    const rows = this.db
      .prepare("SELECT id, content FROM messages WHERE content NOT LIKE 'fbx1.%'")
      .all() as Row[]
    if (!rows.length) return 0
    const up = this.db.prepare('UPDATE messages SET content = ? WHERE id = ?')
    this.db.exec('BEGIN IMMEDIATE')
    try {
      for (const r of rows) up.run(this.sealContent(String(r.id), String(r.content)), String(r.id))
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
    this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    return rows.length
  }

  ensureConversation(c: {
    id: string
    kind: 'dm' | 'group'
    peers?: readonly string[]
    title?: string | null
    groupRelay?: string | null
    groupId?: string | null
    createdAt: number
  }) {
    this.db
      .prepare(
        `INSERT INTO conversations (id, kind, title, peers, group_relay, group_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
      )
      .run(
        c.id,
        c.kind,
        c.title ?? null,
        JSON.stringify(c.peers ?? []),
        c.groupRelay ?? null,
        c.groupId ?? null,
        c.createdAt,
      )
    if (c.title) {
      this.db.prepare('UPDATE conversations SET title = ? WHERE id = ?').run(c.title, c.id)
    }
  }

  conversation(id: string): StoredConversation | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as
      Row | undefined
    return row ? toConversation(row) : undefined
  }

  conversations(): { conversation: StoredConversation; last?: StoredMessage; unread: number }[] {
    const rows = this.db.prepare('SELECT * FROM conversations').all() as Row[]
    const lastStmt = this.db.prepare(
      `SELECT * FROM messages WHERE conversation_id = ? AND deleted = 0
       ORDER BY created_at DESC, seq DESC LIMIT 1`,
    )
    const unreadStmt = this.db.prepare(
      `SELECT COUNT(*) AS n FROM messages
       WHERE conversation_id = ? AND seq > ? AND from_me = 0 AND deleted = 0`,
    )
    return rows
      .map((r) => {
        const conversation = toConversation(r)
        const last = lastStmt.get(conversation.id) as Row | undefined
        const unread = Number((unreadStmt.get(conversation.id, conversation.readSeq) as Row).n ?? 0)
        return { conversation, ...(last ? { last: this.toMessage(last) } : {}), unread }
      })
      .sort(
        (a, b) =>
          (b.last?.createdAt ?? b.conversation.createdAt) -
          (a.last?.createdAt ?? a.conversation.createdAt),
      )
  }

  /** Inserts a message once (by id). Returns false when it was already stored. */
  addMessage(m: Omit<StoredMessage, 'seq'>): boolean {
    const res = this.db
      .prepare(
        `INSERT INTO messages (id, conversation_id, kind, author, content, created_at, legacy, from_me)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
      )
      .run(
        m.id,
        m.conversationId,
        m.kind,
        m.author,
        this.sealContent(m.id, m.content),
        m.createdAt,
        m.legacy ? 1 : 0,
        m.fromMe ? 1 : 0,
      )
    return Number(res.changes) > 0
  }

  message(id: string): StoredMessage | undefined {
    const row = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as Row | undefined
    return row ? this.toMessage(row) : undefined
  }

  markDeleted(id: string) {
    this.db.prepare('UPDATE messages SET deleted = 1 WHERE id = ?').run(id)
  }

  messages(conversationId: string, limit: number, beforeSec?: number): StoredMessage[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM messages WHERE conversation_id = ? AND deleted = 0 AND created_at < ?
         ORDER BY created_at DESC, seq DESC LIMIT ?`,
      )
      .all(conversationId, beforeSec ?? Number.MAX_SAFE_INTEGER, limit) as Row[]
    return rows.map((r) => this.toMessage(r)).reverse()
  }

  markRead(conversationId: string) {
    this.db
      .prepare(
        `UPDATE conversations SET read_seq =
           (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?)
         WHERE id = ?`,
      )
      .run(conversationId, conversationId)
  }

  setDeliveries(messageId: string, deliveries: readonly RelayDelivery[]) {
    const stmt = this.db.prepare(
      `INSERT INTO deliveries (message_id, relay, status, prefix, message) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(message_id, relay) DO UPDATE SET status = excluded.status,
         prefix = excluded.prefix, message = excluded.message`,
    )
    for (const d of deliveries) {
      stmt.run(messageId, d.relay, d.status, d.prefix ?? null, d.message ?? null)
    }
  }

  deliveries(messageId: string): RelayDelivery[] {
    const rows = this.db
      .prepare('SELECT * FROM deliveries WHERE message_id = ? ORDER BY relay')
      .all(messageId) as Row[]
    return rows.map((r) => ({
      relay: String(r.relay),
      status: String(r.status) as RelayDelivery['status'],
      ...(r.prefix ? { prefix: String(r.prefix) } : {}),
      ...(r.message ? { message: String(r.message) } : {}),
    }))
  }

  /** Records a gift wrap as opened; false when it was already. */
  markWrapOpened(id: string): boolean {
    const res = this.db
      .prepare('INSERT INTO opened_wraps (id) VALUES (?) ON CONFLICT(id) DO NOTHING')
      .run(id)
    return Number(res.changes) > 0
  }

  wrapOpened(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM opened_wraps WHERE id = ?').get(id) !== undefined
  }

  /** Keeps the newest kind 0 per pubkey. */
  putProfile(pubkey: string, content: string, createdAt: number) {
    this.db
      .prepare(
        `INSERT INTO profiles (pubkey, content, created_at) VALUES (?, ?, ?)
         ON CONFLICT(pubkey) DO UPDATE SET content = excluded.content,
           created_at = excluded.created_at WHERE excluded.created_at > profiles.created_at`,
      )
      .run(pubkey, content, createdAt)
  }

  profile(pubkey: string): { content: string; createdAt: number } | undefined {
    const row = this.db.prepare('SELECT * FROM profiles WHERE pubkey = ?').get(pubkey) as
      Row | undefined
    return row ? { content: String(row.content), createdAt: Number(row.created_at) } : undefined
  }
}

function toConversation(r: Row): StoredConversation {
  return {
    id: String(r.id),
    kind: r.kind === 'group' ? 'group' : 'dm',
    title: r.title === null ? null : String(r.title),
    peers: JSON.parse(String(r.peers ?? '[]')) as string[],
    groupRelay: r.group_relay === null ? null : String(r.group_relay),
    groupId: r.group_id === null ? null : String(r.group_id),
    readSeq: Number(r.read_seq ?? 0),
    createdAt: Number(r.created_at),
  }
}

function toMessage(r: Row): StoredMessage {
  return {
    seq: Number(r.seq),
    id: String(r.id),
    conversationId: String(r.conversation_id),
    kind: Number(r.kind),
    author: String(r.author),
    content: String(r.content),
    createdAt: Number(r.created_at),
    legacy: Number(r.legacy) === 1,
    fromMe: Number(r.from_me) === 1,
  }
}
