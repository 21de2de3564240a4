// NIP-29 relay-based groups: the event templates this client sends, and how it reads the
// relay-signed group state. The relay (services/relay) enforces membership and roles; a group
// lives on one relay and is named `<host>'<group-id>`.
// https://github.com/nostr-protocol/nips/blob/master/29.md
import { randomBytes } from 'node:crypto'
import type { Event, EventTemplate } from 'nostr-tools/pure'
import { FlashError } from '../errors'

export const GroupKind = {
  chat: 9,
  putUser: 9000,
  removeUser: 9001,
  editMetadata: 9002,
  deleteEvent: 9005,
  createGroup: 9007,
  createInvite: 9009,
  joinRequest: 9021,
  leaveRequest: 9022,
  metadata: 39000,
  admins: 39001,
  members: 39002,
  roles: 39003,
} as const

const now = () => Math.floor(Date.now() / 1000)
const ID = /^[a-z0-9_-]+$/

export function newGroupId(): string {
  return randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')
}

export function newInviteCode(): string {
  return randomBytes(12).toString('base64url')
}

export function groupConversationId(relayUrl: string, groupId: string): string {
  return `group:${relayUrl}|${groupId}`
}

export function parseGroupConversationId(id: string): { relay: string; groupId: string } | null {
  if (!id.startsWith('group:')) return null
  const rest = id.slice(6)
  const bar = rest.lastIndexOf('|')
  if (bar < 0) return null
  const groupId = rest.slice(bar + 1)
  if (!ID.test(groupId)) return null
  return { relay: rest.slice(0, bar), groupId }
}

/** `host'group-id` as NIP-29 writes it. */
export function groupReference(relayUrl: string, groupId: string): string {
  return `${new URL(relayUrl).host}'${groupId}`
}

/** Reads `host'id` (or `wss://host'id`) into a relay URL and group id. */
export function parseGroupReference(
  text: string,
  localRelays: readonly string[] = [],
): { relay: string; groupId: string } {
  const t = text.trim()
  const q = t.lastIndexOf("'")
  const bad = () =>
    new FlashError(
      'nostr.bad_group_reference',
      `"${t.slice(0, 80)}" is not a group address.`,
      "A group address looks like relay.example.com'group-id.",
    )
  if (q < 1) throw bad()
  const hostPart = t.slice(0, q)
  const groupId = t.slice(q + 1)
  if (!ID.test(groupId)) throw bad()
  let relay: string
  if (/^wss?:\/\//i.test(hostPart)) {
    relay = hostPart
  } else {
    // A known relay on that host keeps its scheme (ws:// on this machine); otherwise wss://.
    const known = localRelays.find((r) => {
      try {
        return new URL(r).host === hostPart
      } catch {
        return false
      }
    })
    relay = known ?? `wss://${hostPart}`
  }
  try {
    new URL(relay)
  } catch {
    throw bad()
  }
  return { relay, groupId }
}

export function createGroupTemplate(groupId: string): EventTemplate {
  return { kind: GroupKind.createGroup, created_at: now(), content: '', tags: [['h', groupId]] }
}

export function editMetadataTemplate(
  groupId: string,
  meta: { name: string; about?: string; private: boolean; closed: boolean },
): EventTemplate {
  const tags: string[][] = [
    ['h', groupId],
    ['name', meta.name],
  ]
  if (meta.about) tags.push(['about', meta.about])
  tags.push([meta.private ? 'private' : 'public'])
  tags.push([meta.closed ? 'closed' : 'open'])
  return { kind: GroupKind.editMetadata, created_at: now(), content: '', tags }
}

export function createInviteTemplate(groupId: string, code: string): EventTemplate {
  return {
    kind: GroupKind.createInvite,
    created_at: now(),
    content: '',
    tags: [
      ['h', groupId],
      ['code', code],
    ],
  }
}

export function putUserTemplate(groupId: string, pubkey: string, role?: string): EventTemplate {
  return {
    kind: GroupKind.putUser,
    created_at: now(),
    content: '',
    tags: [['h', groupId], role ? ['p', pubkey, role] : ['p', pubkey]],
  }
}

export function removeUserTemplate(groupId: string, pubkey: string): EventTemplate {
  return {
    kind: GroupKind.removeUser,
    created_at: now(),
    content: '',
    tags: [
      ['h', groupId],
      ['p', pubkey],
    ],
  }
}

export function deleteEventTemplate(groupId: string, eventId: string): EventTemplate {
  return {
    kind: GroupKind.deleteEvent,
    created_at: now(),
    content: '',
    tags: [
      ['h', groupId],
      ['e', eventId],
    ],
  }
}

export function joinRequestTemplate(groupId: string, code?: string): EventTemplate {
  const tags = [['h', groupId]]
  if (code) tags.push(['code', code])
  return { kind: GroupKind.joinRequest, created_at: now(), content: '', tags }
}

/** A kind 9 chat message; `previous` lists short ids of recent events (timeline references). */
export function chatTemplate(
  groupId: string,
  text: string,
  previous: string[] = [],
): EventTemplate {
  return {
    kind: GroupKind.chat,
    created_at: now(),
    content: text,
    tags: [['h', groupId], ...(previous.length ? [['previous', ...previous]] : [])],
  }
}

export function groupIdOf(event: Event): string | undefined {
  const tag = event.kind >= 39000 && event.kind < 40000 ? 'd' : 'h'
  return event.tags.find((t) => t[0] === tag)?.[1]
}

/** Name and about from a relay-signed kind 39000. */
export function readGroupMetadata(event: Event): { name?: string; about?: string } {
  const get = (k: string) => event.tags.find((t) => t[0] === k)?.[1]
  const name = get('name')
  const about = get('about')
  return { ...(name ? { name } : {}), ...(about ? { about } : {}) }
}
