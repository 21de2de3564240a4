// The relay's event store: SQLite through the built-in node:sqlite.
//
// Durability: WAL with synchronous=FULL — every COMMIT fsyncs the WAL, so an event we answered
// `OK true` for survives a process kill *and* a power cut (NORMAL would only survive the former).
// The relay batches everything that arrived in one event-loop turn into one transaction (group
// commit), so the fsync cost is shared and FULL stays fast enough.
//
// Queries: one SELECT per filter (index-friendly: kind/pubkey/created_at and a tag index),
// combined with UNION, ordered created_at DESC, id ASC.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import { mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { dTag, kindClass, replaces, type Filter, type NostrEvent } from './nip01'

/** What a reader may see beyond the filter itself (NIP-59 gift wraps, NIP-29 private groups). */
export interface Visibility {
  /** Pubkeys the connection is authenticated as: gift wraps (1059) only when p-tagged to one. */
  readonly authed: readonly string[]
  /** Group ids whose events (h tag) this reader may not see. */
  readonly hiddenGroups: readonly string[]
}

export type SaveResult =
  | { status: 'saved'; replaced: string[] }
  | { status: 'duplicate' }
  | { status: 'older' }
  | { status: 'deleted' }
  | { status: 'vanished' }

const MAX_INDEXED_TAG_VALUE = 512

export class EventStore {
  readonly db: DatabaseSync
  readonly path: string
  private readonly st: Record<string, StatementSync>
  private depth = 0

  constructor(path: string) {
    this.path = path
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new DatabaseSync(path)
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA foreign_keys = OFF;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        pubkey TEXT NOT NULL,
        kind INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        d TEXT,
        expiration INTEGER,
        raw TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS events_created ON events(created_at DESC, id);
      CREATE INDEX IF NOT EXISTS events_kind ON events(kind, created_at DESC);
      CREATE INDEX IF NOT EXISTS events_pubkey ON events(pubkey, kind, created_at DESC);
      CREATE UNIQUE INDEX IF NOT EXISTS events_address ON events(kind, pubkey, d) WHERE d IS NOT NULL;
      CREATE INDEX IF NOT EXISTS events_expiration ON events(expiration) WHERE expiration IS NOT NULL;
      CREATE TABLE IF NOT EXISTS tags (
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS tags_lookup ON tags(name, value, created_at DESC);
      CREATE INDEX IF NOT EXISTS tags_seq ON tags(seq);
      -- NIP-09: ids deleted by their author (refused if they arrive later).
      CREATE TABLE IF NOT EXISTS deleted_ids (id TEXT PRIMARY KEY, pubkey TEXT NOT NULL);
      -- NIP-09 a-tags: addressable events deleted up to a created_at.
      CREATE TABLE IF NOT EXISTS deleted_addresses (
        kind INTEGER NOT NULL, pubkey TEXT NOT NULL, d TEXT NOT NULL, until INTEGER NOT NULL,
        PRIMARY KEY (kind, pubkey, d)
      );
      -- NIP-62: pubkeys that asked to vanish, up to a created_at.
      CREATE TABLE IF NOT EXISTS vanished (pubkey TEXT PRIMARY KEY, until INTEGER NOT NULL);
      -- NIP-86 / operator lists: banned-pubkey, allowed-pubkey, banned-event, blocked-ip, …
      CREATE TABLE IF NOT EXISTS lists (
        list TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
        added_at INTEGER NOT NULL, PRIMARY KEY (list, value)
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `)
    const p = (sql: string) => this.db.prepare(sql)
    this.st = {
      byId: p('SELECT seq, pubkey FROM events WHERE id = ?'),
      byAddress: p(
        'SELECT seq, id, created_at FROM events WHERE kind = ? AND pubkey = ? AND d = ?',
      ),
      insert: p(
        'INSERT INTO events (id, pubkey, kind, created_at, d, expiration, raw) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertTag: p('INSERT INTO tags (seq, name, value, created_at) VALUES (?, ?, ?, ?)'),
      deleteSeq: p('DELETE FROM events WHERE seq = ?'),
      deleteTags: p('DELETE FROM tags WHERE seq = ?'),
      deletedId: p('SELECT pubkey FROM deleted_ids WHERE id = ?'),
      deletedAddress: p(
        'SELECT until FROM deleted_addresses WHERE kind = ? AND pubkey = ? AND d = ?',
      ),
      vanished: p('SELECT until FROM vanished WHERE pubkey = ?'),
      count: p('SELECT COUNT(*) AS n FROM events'),
    }
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return fn()
    this.db.exec('BEGIN IMMEDIATE')
    this.depth++
    try {
      const out = fn()
      this.depth--
      this.db.exec('COMMIT')
      return out
    } catch (err) {
      this.depth--
      this.listCache.clear()
      try {
        this.db.exec('ROLLBACK')
      } catch {
        // The transaction may already be gone (e.g. SQLITE_FULL rolled it back).
      }
      throw err
    }
  }

  /** The stored event with this id, if any. */
  get(id: string): NostrEvent | undefined {
    const r = this.db.prepare('SELECT raw FROM events WHERE id = ?').get(id) as
      { raw: string } | undefined
    return r ? (JSON.parse(r.raw) as NostrEvent) : undefined
  }

  has(id: string): boolean {
    return this.st.byId!.get(id) !== undefined
  }

  /** Stores one event (call inside `transaction`). Applies NIP-01 replacement and NIP-09/62 refusals. */
  save(ev: NostrEvent): SaveResult {
    if (this.st.byId!.get(ev.id)) return { status: 'duplicate' }
    const del = this.st.deletedId!.get(ev.id) as { pubkey: string } | undefined
    if (del && del.pubkey === ev.pubkey) return { status: 'deleted' }
    const van = this.st.vanished!.get(ev.pubkey) as { until: number } | undefined
    if (van && ev.created_at <= van.until) return { status: 'vanished' }
    const cls = kindClass(ev.kind)
    let d: string | null = null
    const replaced: string[] = []
    if (cls === 'replaceable' || cls === 'addressable') {
      d = cls === 'addressable' ? dTag(ev) : ''
      if (cls === 'addressable') {
        const da = this.st.deletedAddress!.get(ev.kind, ev.pubkey, d) as
          { until: number } | undefined
        if (da && ev.created_at <= da.until) return { status: 'deleted' }
      }
      const cur = this.st.byAddress!.get(ev.kind, ev.pubkey, d) as
        { seq: number; id: string; created_at: number } | undefined
      if (cur) {
        if (!replaces(ev, cur)) return { status: 'older' }
        this.removeSeq(cur.seq)
        replaced.push(cur.id)
      }
    }
    let expiration: number | null = null
    for (const t of ev.tags)
      if (t[0] === 'expiration' && t[1] && /^\d{1,12}$/.test(t[1])) expiration = Number(t[1])
    const r = this.st.insert!.run(
      ev.id,
      ev.pubkey,
      ev.kind,
      ev.created_at,
      d,
      expiration,
      JSON.stringify(ev),
    )
    const seq = Number(r.lastInsertRowid)
    const seen = new Set<string>()
    for (const t of ev.tags) {
      const [name, value] = t
      if (name?.length !== 1 || value === undefined || value.length > MAX_INDEXED_TAG_VALUE)
        continue
      const key = name + '\u0000' + value
      if (seen.has(key)) continue
      seen.add(key)
      this.st.insertTag!.run(seq, name, value, ev.created_at)
    }
    return { status: 'saved', replaced }
  }

  private removeSeq(seq: number): void {
    this.st.deleteTags!.run(seq)
    this.st.deleteSeq!.run(seq)
  }

  /** Deletes events by id that belong to `pubkey`; returns the ids actually deleted. */
  deleteOwned(ids: readonly string[], pubkey: string): string[] {
    const out: string[] = []
    for (const id of ids) {
      const row = this.st.byId!.get(id) as { seq: number; pubkey: string } | undefined
      if (row && row.pubkey === pubkey) {
        this.removeSeq(row.seq)
        out.push(id)
      }
    }
    return out
  }

  /** Deletes any events by id (operator moderation, NIP-86 banevent). */
  deleteAny(ids: readonly string[]): number {
    let n = 0
    for (const id of ids) {
      const row = this.st.byId!.get(id) as { seq: number } | undefined
      if (row) {
        this.removeSeq(row.seq)
        n++
      }
    }
    return n
  }

  /** Deletes rows matching a WHERE clause over `events`; returns how many. */
  deleteWhere(where: string, params: SQLInputValue[]): number {
    const rows = this.db.prepare(`SELECT seq FROM events WHERE ${where}`).all(...params) as {
      seq: number
    }[]
    for (const r of rows) this.removeSeq(r.seq)
    return rows.length
  }

  /** Query events matching any of `filters`, newest first, each filter's limit applied. */
  query(filters: readonly Filter[], vis: Visibility, now: number, maxLimit: number): NostrEvent[] {
    const parts: string[] = []
    const params: SQLInputValue[] = []
    for (const f of filters) {
      const limit = Math.min(f.limit ?? maxLimit, maxLimit)
      if (limit === 0) continue
      const q = this.select(f, vis, now, 'e.created_at AS created_at, e.id AS id, e.raw AS raw')
      if (q === null) continue
      parts.push(`SELECT * FROM (${q.sql} ORDER BY ${q.order} LIMIT ${limit})`)
      params.push(...q.params)
    }
    if (parts.length === 0) return []
    const sql = parts.join(' UNION ') + ' ORDER BY created_at DESC, id ASC'
    const rows = this.db.prepare(sql).all(...params) as { raw: string }[]
    return rows.map((r) => JSON.parse(r.raw) as NostrEvent)
  }

  /** NIP-45: how many stored events match any of `filters` (limits ignored). */
  count(filters: readonly Filter[], vis: Visibility, now: number): number {
    const parts: string[] = []
    const params: SQLInputValue[] = []
    for (const f of filters) {
      const q = this.select(f, vis, now, 'e.seq AS seq')
      if (q === null) continue
      parts.push(q.sql)
      params.push(...q.params)
    }
    if (parts.length === 0) return 0
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n FROM (${parts.join(' UNION ')})`)
      .get(...params) as { n: number }
    return row.n
  }

  /**
   * One filter as a SELECT (without ORDER BY/LIMIT), or null when it cannot match anything.
   * A filter with a single-valued tag condition is driven from the tag index, which is ordered
   * by created_at: SQLite walks it newest-first and stops at the limit instead of sorting every
   * match (a popular hashtag at a million events). The planner may still start from events.
   */
  private select(
    f: Filter,
    vis: Visibility,
    now: number,
    cols: string,
  ): { sql: string; params: SQLInputValue[]; order: string } | null {
    const params: SQLInputValue[] = []
    const c: string[] = []
    const inList = (col: string, values: readonly SQLInputValue[]) => {
      c.push(`${col} IN (${values.map(() => '?').join(',')})`)
      params.push(...values)
    }
    const tagEntries = Object.entries(f.tags ?? {})
    if (tagEntries.some(([, v]) => v.length === 0)) return null
    const driver = tagEntries.find(([, v]) => v.length === 1)
    let from = 'events e'
    let order = 'e.created_at DESC, e.id ASC'
    if (driver) {
      from = 'tags t JOIN events e ON e.seq = t.seq'
      order = 't.created_at DESC, e.id ASC'
      c.push('t.name = ? AND t.value = ?')
      params.push(driver[0], driver[1][0]!)
    }
    if (f.ids) {
      if (f.ids.length === 0) return null
      inList('e.id', f.ids)
    }
    if (f.authors) {
      if (f.authors.length === 0) return null
      inList('e.pubkey', f.authors)
    }
    if (f.kinds) {
      if (f.kinds.length === 0) return null
      inList('e.kind', f.kinds)
    }
    if (f.since !== undefined) {
      c.push('e.created_at >= ?')
      params.push(f.since)
    }
    if (f.until !== undefined) {
      c.push('e.created_at <= ?')
      params.push(f.until)
    }
    for (const [name, values] of tagEntries) {
      if (driver && name === driver[0]) continue
      c.push(
        `e.seq IN (SELECT seq FROM tags WHERE name = ? AND value IN (${values.map(() => '?').join(',')}))`,
      )
      params.push(name, ...values)
    }
    // NIP-40: expired events are never served.
    c.push('(e.expiration IS NULL OR e.expiration > ?)')
    params.push(now)
    // NIP-59: gift wraps only to their recipient.
    if (vis.authed.length === 0) c.push('e.kind != 1059')
    else {
      c.push(
        `(e.kind != 1059 OR e.seq IN (SELECT seq FROM tags WHERE name = 'p' AND value IN (${vis.authed.map(() => '?').join(',')})))`,
      )
      params.push(...vis.authed)
    }
    // NIP-29: private groups only to their members.
    if (vis.hiddenGroups.length > 0) {
      c.push(
        `e.seq NOT IN (SELECT seq FROM tags WHERE name = 'h' AND value IN (${vis.hiddenGroups.map(() => '?').join(',')}))`,
      )
      params.push(...vis.hiddenGroups)
    }
    return { sql: `SELECT ${cols} FROM ${from} WHERE ${c.join(' AND ')}`, params, order }
  }

  markDeletedId(id: string, pubkey: string): void {
    this.db.prepare('INSERT OR IGNORE INTO deleted_ids (id, pubkey) VALUES (?, ?)').run(id, pubkey)
  }

  /** Marks an event deleted for its real author, whoever asked about that id before. */
  markDeletedEvent(id: string, author: string): void {
    this.db
      .prepare(
        'INSERT INTO deleted_ids (id, pubkey) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET pubkey = excluded.pubkey',
      )
      .run(id, author)
  }

  markDeletedAddress(kind: number, pubkey: string, d: string, until: number): void {
    this.db
      .prepare(
        `INSERT INTO deleted_addresses (kind, pubkey, d, until) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, pubkey, d) DO UPDATE SET until = max(until, excluded.until)`,
      )
      .run(kind, pubkey, d, until)
  }

  markVanished(pubkey: string, until: number): void {
    this.db
      .prepare(
        `INSERT INTO vanished (pubkey, until) VALUES (?, ?)
         ON CONFLICT (pubkey) DO UPDATE SET until = max(until, excluded.until)`,
      )
      .run(pubkey, until)
  }

  // ---- operator lists (NIP-86) ----
  // Policies consult these on every message: membership is answered from memory, reloaded from
  // the table after any change.
  private readonly listCache = new Map<string, Set<string>>()

  listAdd(list: string, value: string, reason = ''): void {
    this.listCache.delete(list)
    this.db
      .prepare(
        `INSERT INTO lists (list, value, reason, added_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (list, value) DO UPDATE SET reason = excluded.reason`,
      )
      .run(list, value, reason, Math.floor(Date.now() / 1000))
  }
  listRemove(list: string, value: string): boolean {
    this.listCache.delete(list)
    return (
      this.db.prepare('DELETE FROM lists WHERE list = ? AND value = ?').run(list, value).changes > 0
    )
  }
  private listSet(list: string): Set<string> {
    let set = this.listCache.get(list)
    if (!set) {
      set = new Set(
        (
          this.db.prepare('SELECT value FROM lists WHERE list = ?').all(list) as { value: string }[]
        ).map((r) => r.value),
      )
      // Only cache outside a transaction: a rollback must not leave a stale cache behind.
      if (this.depth === 0) this.listCache.set(list, set)
    }
    return set
  }
  listHas(list: string, value: string): boolean {
    return this.listSet(list).has(value)
  }
  listValues(list: string): string[] {
    return [...this.listSet(list)]
  }
  listAll(list: string): { value: string; reason: string; addedAt: number }[] {
    return this.db
      .prepare(
        'SELECT value, reason, added_at AS addedAt FROM lists WHERE list = ? ORDER BY added_at, value',
      )
      .all(list) as { value: string; reason: string; addedAt: number }[]
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      { value: string } | undefined
    return r?.value
  }
  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value)
  }

  eventCount(): number {
    return (this.st.count!.get() as { n: number }).n
  }

  /** Bytes on disk: the database plus its WAL. */
  storageBytes(): number {
    if (this.path === ':memory:') return 0
    let n = 0
    for (const f of [this.path, this.path + '-wal', this.path + '-shm']) {
      try {
        n += statSync(f).size
      } catch {
        // absent
      }
    }
    return n
  }

  /** NIP-40: removes expired events; returns how many. */
  purgeExpired(now: number): number {
    return this.transaction(() =>
      this.deleteWhere('expiration IS NOT NULL AND expiration <= ?', [now]),
    )
  }

  /** An online, consistent copy of the database (VACUUM INTO reads one snapshot). */
  backupTo(path: string): void {
    this.db.prepare('VACUUM INTO ?').run(path)
  }

  close(): void {
    if (this.db.isOpen) this.db.close()
  }
}
