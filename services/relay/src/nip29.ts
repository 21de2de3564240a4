// NIP-29 relay-based groups, enforced by this relay — e.g. a shop's staff room.
// https://github.com/nostr-protocol/nips/blob/master/29.md
//
// State lives in SQLite tables beside the events (same transaction as the event that changed it).
// Policy of this relay: every group is managed; only members post; admins (role "admin") do all
// moderation, moderators (role "moderator") may delete events and remove users; the box's admin
// keys may do anything; the relay key signs kinds 39000–39003 describing each group.
import { finalizeEvent } from 'nostr-tools/pure'
import { firstTag, reason, type NostrEvent } from './nip01'
import type { ConnectionView } from './policies/types'
import type { Relay, RelayExtension } from './relay'

export const GROUP_KINDS = {
  putUser: 9000,
  removeUser: 9001,
  editMetadata: 9002,
  deleteEvent: 9005,
  createGroup: 9007,
  deleteGroup: 9008,
  createInvite: 9009,
  joinRequest: 9021,
  leaveRequest: 9022,
  metadata: 39000,
  admins: 39001,
  members: 39002,
  roles: 39003,
} as const

const GROUP_ID = /^[a-zA-Z0-9_-]{1,64}$/
const LATE_PUBLICATION_SECONDS = 3600
const ROLES: Record<string, { description: string; may: readonly number[] }> = {
  admin: {
    description: 'Manages the group: members, metadata, invites, deletions',
    may: [9000, 9001, 9002, 9005, 9008, 9009],
  },
  moderator: { description: 'Deletes messages and removes members', may: [9001, 9005] },
}

interface GroupRow {
  id: string
  name: string
  picture: string
  about: string
  private: number
  closed: number
}

export class Nip29Groups implements RelayExtension {
  private privateCache: Map<string, Set<string>> | undefined

  constructor(private readonly relay: Relay) {
    relay.store.db.exec(`
      CREATE TABLE IF NOT EXISTS groups (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', picture TEXT NOT NULL DEFAULT '',
        about TEXT NOT NULL DEFAULT '', private INTEGER NOT NULL DEFAULT 0,
        closed INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS group_members (
        group_id TEXT NOT NULL, pubkey TEXT NOT NULL, roles TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (group_id, pubkey)
      );
      CREATE TABLE IF NOT EXISTS group_invites (
        group_id TEXT NOT NULL, code TEXT NOT NULL, PRIMARY KEY (group_id, code)
      );
    `)
  }

  private get enabled(): boolean {
    return this.relay.currentPolicy.groups.enabled
  }

  private get db() {
    return this.relay.store.db
  }

  group(id: string): GroupRow | undefined {
    return this.db.prepare('SELECT * FROM groups WHERE id = ?').get(id) as GroupRow | undefined
  }

  roles(groupId: string, pubkey: string): string[] | undefined {
    const r = this.db
      .prepare('SELECT roles FROM group_members WHERE group_id = ? AND pubkey = ?')
      .get(groupId, pubkey) as { roles: string } | undefined
    return r ? (JSON.parse(r.roles) as string[]) : undefined
  }

  private may(groupId: string, pubkey: string, kind: number): boolean {
    if (this.relay.admins.has(pubkey)) return true
    const roles = this.roles(groupId, pubkey) ?? []
    return roles.some((r) => ROLES[r]?.may.includes(kind))
  }

  rejectEvent(ev: NostrEvent, _conn: ConnectionView): string | undefined {
    if (!this.enabled) return undefined
    if (ev.kind >= 39000 && ev.kind <= 39003 && ev.pubkey !== this.relay.key.pubkey)
      return reason('restricted', 'group metadata is written by the relay itself')
    const h = firstTag(ev, 'h')
    const isGroupKind = ev.kind >= 9000 && ev.kind <= 9022
    if (h === undefined)
      return isGroupKind ? reason('invalid', 'group events need an h tag') : undefined
    if (!GROUP_ID.test(h)) return reason('invalid', 'group ids are 1–64 letters, digits, - or _')
    const g = this.group(h)
    if (ev.kind === GROUP_KINDS.createGroup) {
      if (g) return reason('duplicate', 'a group with this id already exists')
      if (
        this.relay.currentPolicy.groups.whoCanCreate === 'admins' &&
        !this.relay.admins.has(ev.pubkey)
      )
        return reason('restricted', "only this box's admins may create groups")
      return undefined
    }
    if (!g) return reason('restricted', 'there is no group with this id on this relay')
    // NIP-29 "late publication": no back-dated messages slipped into a group's history.
    if (ev.created_at < this.relay.now() - LATE_PUBLICATION_SECONDS)
      return reason('invalid', 'too late: events for a group must be published when they are made')
    const unseen = this.unseenPrevious(h, ev)
    if (unseen) return unseen
    const member = this.roles(h, ev.pubkey) !== undefined || this.relay.admins.has(ev.pubkey)
    if (ev.kind === GROUP_KINDS.joinRequest) {
      if (this.roles(h, ev.pubkey) !== undefined)
        return reason('duplicate', 'you are already a member')
      if (g.closed) {
        const code = firstTag(ev, 'code')
        const ok =
          code !== undefined &&
          this.db
            .prepare('SELECT 1 FROM group_invites WHERE group_id = ? AND code = ?')
            .get(h, code)
        if (!ok)
          return reason(
            'restricted',
            'this group is closed: ask an admin to add you or for an invite code',
          )
      }
      return undefined
    }
    if (ev.kind === GROUP_KINDS.leaveRequest) {
      return this.roles(h, ev.pubkey) === undefined
        ? reason('invalid', 'you are not a member of this group')
        : undefined
    }
    if (ev.kind >= 9000 && ev.kind <= 9020) {
      if (!this.may(h, ev.pubkey, ev.kind))
        return reason('restricted', 'only group admins may do that')
      if (ev.kind === GROUP_KINDS.putUser || ev.kind === GROUP_KINDS.removeUser) {
        if (!ev.tags.some((t) => t[0] === 'p' && /^[0-9a-f]{64}$/.test(t[1] ?? '')))
          return reason('invalid', 'name the user in a p tag')
      }
      return undefined
    }
    if (!member) return reason('restricted', 'only members of this group may post in it')
    return undefined
  }

  /**
   * NIP-29 timeline references: `previous` tags name earlier events of the group by the first
   * characters of their ids. An event that names one this relay never saw in the group was made
   * for another relay's copy of the group (or forged), and would fork this timeline.
   */
  private unseenPrevious(groupId: string, ev: NostrEvent): string | undefined {
    const refs = ev.tags.filter((t) => t[0] === 'previous').flatMap((t) => t.slice(1))
    for (const ref of refs) {
      if (!/^[0-9a-f]{8,64}$/.test(ref))
        return reason('invalid', 'previous tags hold the first 8 hex characters of event ids')
      // Hex ids sort below 'g': every id starting with `ref` lies in [ref, ref + 'g').
      const candidates = this.db
        .prepare('SELECT seq FROM events WHERE id >= ? AND id < ?')
        .all(ref, `${ref}g`) as { seq: number }[]
      const seen = candidates.some(
        (c) =>
          this.db
            .prepare("SELECT 1 FROM tags WHERE seq = ? AND name = 'h' AND value = ?")
            .get(c.seq, groupId) !== undefined,
      )
      if (!seen)
        return reason(
          'invalid',
          `previous names an event this relay has not seen in this group (${ref.slice(0, 8)})`,
        )
    }
    return undefined
  }

  afterSave(ev: NostrEvent): NostrEvent[] {
    if (!this.enabled) return []
    const h = firstTag(ev, 'h')
    if (h === undefined || ev.kind < 9000 || ev.kind > 9022) return []
    this.privateCache = undefined
    const db = this.db
    const now = this.relay.now()
    switch (ev.kind) {
      case GROUP_KINDS.createGroup: {
        db.prepare('INSERT INTO groups (id, created_at) VALUES (?, ?)').run(h, ev.created_at)
        this.applyMetadataTags(h, ev)
        db.prepare(
          'INSERT OR REPLACE INTO group_members (group_id, pubkey, roles) VALUES (?, ?, ?)',
        ).run(h, ev.pubkey, JSON.stringify(['admin']))
        return [
          this.metadataEvent(h),
          this.adminsEvent(h),
          this.membersEvent(h),
          this.rolesEvent(h),
        ]
      }
      case GROUP_KINDS.putUser: {
        for (const t of ev.tags) {
          if (t[0] !== 'p' || !/^[0-9a-f]{64}$/.test(t[1] ?? '')) continue
          const roles = t.slice(2).filter((r) => r.length > 0 && r.length <= 32)
          db.prepare(
            'INSERT OR REPLACE INTO group_members (group_id, pubkey, roles) VALUES (?, ?, ?)',
          ).run(h, t[1]!, JSON.stringify(roles))
        }
        return [this.adminsEvent(h), this.membersEvent(h)]
      }
      case GROUP_KINDS.removeUser: {
        for (const t of ev.tags)
          if (t[0] === 'p' && t[1])
            db.prepare('DELETE FROM group_members WHERE group_id = ? AND pubkey = ?').run(h, t[1])
        return [this.adminsEvent(h), this.membersEvent(h)]
      }
      case GROUP_KINDS.editMetadata:
        this.applyMetadataTags(h, ev)
        return [this.metadataEvent(h)]
      case GROUP_KINDS.deleteEvent: {
        const ids = ev.tags.filter((t) => t[0] === 'e' && t[1]).map((t) => t[1]!)
        for (const id of ids)
          this.relay.store.deleteWhere(
            `id = ? AND seq IN (SELECT seq FROM tags WHERE name = 'h' AND value = ?)`,
            [id, h],
          )
        return []
      }
      case GROUP_KINDS.deleteGroup: {
        db.prepare('DELETE FROM groups WHERE id = ?').run(h)
        db.prepare('DELETE FROM group_members WHERE group_id = ?').run(h)
        db.prepare('DELETE FROM group_invites WHERE group_id = ?').run(h)
        this.relay.store.deleteWhere(
          `seq IN (SELECT seq FROM tags WHERE name = 'h' AND value = ?) AND kind NOT IN (9008)`,
          [h],
        )
        this.relay.store.deleteWhere('kind BETWEEN 39000 AND 39003 AND pubkey = ? AND d = ?', [
          this.relay.key.pubkey,
          h,
        ])
        return []
      }
      case GROUP_KINDS.createInvite: {
        const code = firstTag(ev, 'code')
        if (code)
          db.prepare('INSERT OR IGNORE INTO group_invites (group_id, code) VALUES (?, ?)').run(
            h,
            code,
          )
        return []
      }
      case GROUP_KINDS.joinRequest: {
        db.prepare(
          'INSERT OR IGNORE INTO group_members (group_id, pubkey, roles) VALUES (?, ?, ?)',
        ).run(h, ev.pubkey, '[]')
        return [this.membersEvent(h)]
      }
      case GROUP_KINDS.leaveRequest: {
        db.prepare('DELETE FROM group_members WHERE group_id = ? AND pubkey = ?').run(h, ev.pubkey)
        const removal = this.sign(
          GROUP_KINDS.removeUser,
          [
            ['h', h],
            ['p', ev.pubkey],
          ],
          now,
          'left the group',
        )
        return [removal, this.adminsEvent(h), this.membersEvent(h)]
      }
    }
    return []
  }

  hiddenGroups(authed: ReadonlySet<string>): string[] {
    if (!this.enabled) return []
    if ([...authed].some((pk) => this.relay.admins.has(pk))) return []
    if (!this.privateCache) {
      const cache = new Map<string, Set<string>>()
      for (const g of this.db.prepare('SELECT id FROM groups WHERE private = 1').all() as {
        id: string
      }[])
        cache.set(g.id, new Set())
      for (const m of this.db
        .prepare(
          'SELECT group_id, pubkey FROM group_members WHERE group_id IN (SELECT id FROM groups WHERE private = 1)',
        )
        .all() as { group_id: string; pubkey: string }[])
        cache.get(m.group_id)?.add(m.pubkey)
      this.privateCache = cache
    }
    const out: string[] = []
    for (const [id, members] of this.privateCache)
      if (![...authed].some((pk) => members.has(pk))) out.push(id)
    return out
  }

  private applyMetadataTags(h: string, ev: NostrEvent): void {
    const has = (name: string) => ev.tags.some((t) => t[0] === name)
    const set = (col: 'name' | 'picture' | 'about', v: string | undefined) => {
      if (v !== undefined)
        this.db.prepare(`UPDATE groups SET ${col} = ? WHERE id = ?`).run(v.slice(0, 1000), h)
    }
    set('name', firstTag(ev, 'name'))
    set('picture', firstTag(ev, 'picture'))
    set('about', firstTag(ev, 'about'))
    // On edit-metadata the flags are the full new state (NIP-29: "all the fields of group-metadata").
    if (ev.kind === GROUP_KINDS.editMetadata || has('private') || has('public'))
      this.db.prepare('UPDATE groups SET private = ? WHERE id = ?').run(has('private') ? 1 : 0, h)
    if (ev.kind === GROUP_KINDS.editMetadata || has('closed') || has('open'))
      this.db.prepare('UPDATE groups SET closed = ? WHERE id = ?').run(has('closed') ? 1 : 0, h)
  }

  /** A relay-signed addressable event; created_at strictly after the one it replaces. */
  private sign(kind: number, tags: string[][], createdAt: number, content = ''): NostrEvent {
    return finalizeEvent(
      { kind, tags, content, created_at: createdAt },
      this.relay.key.secretKey,
    ) as NostrEvent
  }

  private nextTime(kind: number, d: string): number {
    const cur = this.db
      .prepare('SELECT created_at FROM events WHERE kind = ? AND pubkey = ? AND d = ?')
      .get(kind, this.relay.key.pubkey, d) as { created_at: number } | undefined
    return Math.max(this.relay.now(), (cur?.created_at ?? 0) + 1)
  }

  private metadataEvent(h: string): NostrEvent {
    const g = this.group(h)!
    const tags: string[][] = [
      ['d', h],
      ['name', g.name || h],
    ]
    if (g.picture) tags.push(['picture', g.picture])
    if (g.about) tags.push(['about', g.about])
    tags.push(g.private ? ['private'] : ['public'])
    tags.push(['restricted'])
    tags.push(g.closed ? ['closed'] : ['open'])
    return this.sign(GROUP_KINDS.metadata, tags, this.nextTime(GROUP_KINDS.metadata, h))
  }

  private memberRows(h: string): { pubkey: string; roles: string[] }[] {
    return (
      this.db
        .prepare('SELECT pubkey, roles FROM group_members WHERE group_id = ? ORDER BY pubkey')
        .all(h) as {
        pubkey: string
        roles: string
      }[]
    ).map((r) => ({ pubkey: r.pubkey, roles: JSON.parse(r.roles) as string[] }))
  }

  private adminsEvent(h: string): NostrEvent {
    const tags: string[][] = [['d', h]]
    for (const m of this.memberRows(h)) {
      const roles = m.roles.filter((r) => ROLES[r])
      if (roles.length) tags.push(['p', m.pubkey, ...roles])
    }
    return this.sign(GROUP_KINDS.admins, tags, this.nextTime(GROUP_KINDS.admins, h))
  }

  private membersEvent(h: string): NostrEvent {
    const tags: string[][] = [['d', h], ...this.memberRows(h).map((m) => ['p', m.pubkey])]
    return this.sign(GROUP_KINDS.members, tags, this.nextTime(GROUP_KINDS.members, h))
  }

  private rolesEvent(h: string): NostrEvent {
    const tags: string[][] = [
      ['d', h],
      ...Object.entries(ROLES).map(([name, r]) => ['role', name, r.description]),
    ]
    return this.sign(GROUP_KINDS.roles, tags, this.nextTime(GROUP_KINDS.roles, h))
  }
}
