// The box's Nostr client: one identity (NIP-49 keystore), several relays (relay-pool), private
// messages (NIP-17, legacy NIP-04 read-only), relay-based groups (NIP-29), the business profile
// (kind 0) and the NIP-05 names the box answers for. Every signature is made here; nothing
// secret leaves this class except through `exportKey`.
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { finalizeEvent, type Event, type EventTemplate } from 'nostr-tools/pure'
import { z } from 'zod'
import { FlashError } from '../errors'
import type { EventBus } from '../events'
import type { Logger } from '../log'
import type {
  ConversationSummary,
  DecodedReference,
  Identity,
  Message,
  NostrStatus,
  PersonRef,
  Profile,
  RelayDelivery,
  RelayHealth,
  RelayInfo,
  SendResult,
} from '../../shared/api/nostr'
import { ProfileSchema } from '../../shared/api/nostr'
import { Nip49KeyStore } from './nip49-keystore'
import type { BoxKey } from '../secrets/box-key'
import { MessageStore, type StoredConversation, type StoredMessage } from './message-store'
import { isPubliclyReachableRelay } from './relay-reachability'
import { RelayPool, type RelayPoolOptions } from './relay-pool'
import { writeSecretFileAtomic } from '../secrets/secret-file'
import { decodePubkey, decodeReference, npub } from './nip19'
import { nip05Response, resolveNip05, verifyNip05, type Fetch } from './nip05'
import {
  KIND_DM_RELAYS,
  KIND_GIFT_WRAP,
  KIND_LEGACY_DM,
  KIND_CHAT,
  createDirectMessage,
  dmConversationId,
  inboxRelayList,
  inboxRelaysOf,
  openGiftWrap,
  peersOfConversation,
  readLegacyDirectMessage,
  rumorParticipants,
} from './nip17'
import {
  GroupKind,
  chatTemplate,
  createGroupTemplate,
  createInviteTemplate,
  deleteEventTemplate,
  editMetadataTemplate,
  groupConversationId,
  groupIdOf,
  groupReference,
  joinRequestTemplate,
  newGroupId,
  newInviteCode,
  parseGroupConversationId,
  parseGroupReference,
  putUserTemplate,
  readGroupMetadata,
  removeUserTemplate,
} from './nip29'

export interface NostrClientOptions {
  readonly dir: string
  readonly log: Logger
  readonly events: EventBus
  /** The box's own relay (ws://…), when it runs; read each time (it may start later). */
  readonly boxRelayUrl: () => string | undefined
  /**
   * The box relay's address as others reach it (the public or LAN address, src/core/reach):
   * announced in kind 10050 in place of the loopback URL the box itself connects to.
   */
  readonly publishedBoxRelayUrl?: () => string | undefined
  readonly pool?: Partial<Omit<RelayPoolOptions, 'log' | 'authSigner' | 'onHealth'>>
  /** NIP-49 scrypt cost (≥ 16). */
  readonly logN?: number
  /** For NIP-05 look-ups (tests point it at a local server). */
  readonly fetch?: Fetch
  readonly nip05Scheme?: 'https' | 'http'
  /** The box key: the stored key is sealed under it once the owner has a password. */
  readonly box?: BoxKey
  /** Called with our pubkey whenever the key is unlocked (the module makes it a relay admin). */
  readonly onIdentityReady?: (pubkey: string) => Promise<void>
}

const Config = z.object({
  relays: z.array(z.string()).default([]),
  nip05Names: z.record(z.string(), z.string()).default({}),
})
type Config = z.infer<typeof Config>

const INBOX_CACHE_MS = 10 * 60_000
const HEX64 = /^[0-9a-f]{64}$/

export class NostrClient {
  readonly keys: Nip49KeyStore
  private readonly pool: RelayPool
  private readonly configPath: string
  private config: Config
  private store: MessageStore | null = null
  private readonly inboxCache = new Map<string, { relays: string[]; at: number }>()
  private readonly profileRequested = new Set<string>()

  constructor(private readonly opts: NostrClientOptions) {
    this.keys = new Nip49KeyStore(opts.dir, opts.logN, opts.box)
    this.configPath = join(opts.dir, 'config.json')
    this.config = this.readConfig()
    this.pool = new RelayPool({
      ...opts.pool,
      log: opts.log.child('relays'),
      authSigner: () => {
        if (!this.keys.unlocked) return null
        const sk = this.keys.secretKey()
        return async (t: EventTemplate) => finalizeEvent(t, sk)
      },
      onHealth: (health: RelayHealth) =>
        opts.events.publish({ topic: 'nostr', type: 'relay-health', health }),
    })
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────────────────

  start() {
    this.syncRelays()
  }

  stop() {
    this.pool.close()
    this.store?.close()
    this.store = null
    this.keys.lock()
    this.keys.dispose()
  }

  // ── identity ───────────────────────────────────────────────────────────────────────────────

  identity(): Identity {
    return this.keys.identity()
  }

  status(): NostrStatus {
    const identity = this.keys.identity()
    const unread =
      identity.state === 'unlocked' && this.store
        ? this.store.conversations().reduce((n, c) => n + c.unread, 0)
        : 0
    return { identity, relays: this.relays(), unread }
  }

  async createKey(input: { passphrase: string; recoveryWords: boolean; replace?: string }) {
    const out = this.keys.create(input.passphrase, {
      recoveryWords: input.recoveryWords,
      replace: input.replace !== undefined,
    })
    await this.onUnlocked()
    return out
  }

  async importKey(input: {
    passphrase: string
    secret: string
    secretPassphrase?: string
    replace?: string
  }) {
    const identity = this.keys.import(input.passphrase, input.secret, {
      ...(input.secretPassphrase !== undefined ? { secretPassphrase: input.secretPassphrase } : {}),
      replace: input.replace !== undefined,
    })
    await this.onUnlocked()
    return identity
  }

  async unlock(passphrase: string) {
    const identity = this.keys.unlock(passphrase)
    await this.onUnlocked()
    return identity
  }

  lock(): Identity {
    this.pool.unsubscribe('dm')
    for (const key of this.groupSubscriptionKeys) this.pool.unsubscribe(key)
    this.groupSubscriptionKeys.clear()
    this.store?.close()
    this.store = null
    const identity = this.keys.lock()
    this.publishIdentity()
    return identity
  }

  exportKey(passphrase: string): { nsec: string } {
    const nsec = this.keys.export(passphrase)
    this.opts.log.warn('the Nostr key was exported in plain text at the user’s request')
    this.publishIdentity()
    return { nsec }
  }

  private publishIdentity() {
    this.opts.events.publish({ topic: 'nostr', type: 'identity', identity: this.identity() })
  }

  private me(): string {
    this.keys.secretKey()
    return this.keys.pubkey!
  }

  private requireStore(): MessageStore {
    this.keys.secretKey() // throws the clear "locked"/"no key" error
    if (!this.store) this.store = new MessageStore(this.opts.dir, this.keys.pubkey!, this.opts.box)
    return this.store
  }

  private async onUnlocked() {
    this.store?.close()
    this.store = new MessageStore(this.opts.dir, this.keys.pubkey!, this.opts.box)
    this.publishIdentity()
    this.syncRelays()
    this.subscribeInbox()
    this.subscribeGroups()
    // Tell others where to send us private messages (NIP-17 kind 10050), and pick up our
    // profile if another app changed it. Neither blocks unlocking.
    void this.publishInboxRelays().catch((err) =>
      this.opts.log.warn('could not publish the inbox relay list', { error: String(err) }),
    )
    void this.refreshProfile(this.keys.pubkey!).catch(() => {})
    if (this.opts.onIdentityReady) {
      void this.opts.onIdentityReady(this.keys.pubkey!).catch((err) =>
        this.opts.log.warn('could not register the box identity with the relay', {
          error: err instanceof Error ? err.message : String(err),
        }),
      )
    }
  }

  // ── relays ─────────────────────────────────────────────────────────────────────────────────

  private boxRelay(): string | undefined {
    const url = this.opts.boxRelayUrl()
    return url ? RelayPool.normalize(url) : undefined
  }

  /** Where we read and advertise our private messages: the box's relay and the user's list. */
  private inboxRelays(): string[] {
    const box = this.boxRelay()
    return [...new Set([...(box ? [box] : []), ...this.config.relays])]
  }

  private groupRelays(): string[] {
    if (!this.store) return []
    return [
      ...new Set(
        this.store
          .conversations()
          .map((c) => c.conversation.groupRelay)
          .filter((r): r is string => !!r),
      ),
    ]
  }

  private syncRelays() {
    this.pool.setRelays([...new Set([...this.inboxRelays(), ...this.groupRelays()])])
  }

  relays(): RelayInfo[] {
    const box = this.boxRelay()
    const health = new Map(this.pool.health().map((h) => [h.url, h]))
    return this.inboxRelays().map((url) => ({
      url,
      role: url === box ? 'box' : 'user',
      announced: isPubliclyReachableRelay(url),
      health: health.get(url) ?? { url, connected: false, auth: 'none', attempts: 0 },
    }))
  }

  relayHealth(): RelayHealth[] {
    return this.pool.health()
  }

  async addRelay(url: string): Promise<RelayInfo[]> {
    let normalized: string
    try {
      normalized = RelayPool.normalize(url)
      new URL(normalized)
    } catch {
      throw new FlashError(
        'nostr.bad_relay_url',
        `"${url.slice(0, 80)}" is not a relay address.`,
        'A relay address looks like wss://relay.example.com.',
      )
    }
    if (!this.config.relays.includes(normalized) && normalized !== this.boxRelay()) {
      this.config = { ...this.config, relays: [...this.config.relays, normalized] }
      this.writeConfig()
    }
    await this.onRelaysChanged()
    return this.relays()
  }

  async removeRelay(url: string): Promise<RelayInfo[]> {
    const normalized = RelayPool.normalize(url)
    if (normalized === this.boxRelay()) {
      throw new FlashError(
        'nostr.box_relay',
        'This box’s own relay cannot be removed from the list.',
        'Turn the relay off in Settings if you do not want to use it.',
      )
    }
    this.config = { ...this.config, relays: this.config.relays.filter((r) => r !== normalized) }
    this.writeConfig()
    await this.onRelaysChanged()
    return this.relays()
  }

  private async onRelaysChanged() {
    this.syncRelays()
    if (this.keys.unlocked) {
      this.subscribeInbox()
      void this.publishInboxRelays().catch(() => {})
    }
  }

  private readConfig(): Config {
    if (!existsSync(this.configPath)) return { relays: [], nip05Names: {} }
    try {
      return Config.parse(JSON.parse(readFileSync(this.configPath, 'utf8')))
    } catch (err) {
      throw new FlashError(
        'nostr.config_damaged',
        'The Nostr settings file is damaged.',
        `Restore ${this.configPath} from a backup or delete it to start with the defaults.`,
        { cause: err },
      )
    }
  }

  private writeConfig() {
    writeSecretFileAtomic(this.configPath, JSON.stringify(this.config, null, 2) + '\n')
  }

  // ── signing and publishing ─────────────────────────────────────────────────────────────────

  private sign(template: EventTemplate): Event {
    return finalizeEvent(template, this.keys.secretKey())
  }

  /**
   * Our kind 10050. Other relays get only the addresses other people can reach: a loopback or
   * LAN address is never announced to them. The relays that are themselves local (the box's own,
   * until the box has a public address) get the whole list: only apps that can reach them read it.
   */
  private async publishInboxRelays(): Promise<RelayDelivery[]> {
    const relays = this.inboxRelays()
    // The box's own relay is announced by its published address (the box still delivers to it
    // over loopback); without one it stays a local relay.
    const box = this.boxRelay()
    const publishedBox = this.opts.publishedBoxRelayUrl?.()
    const advertised = (r: string) =>
      publishedBox && r === box ? RelayPool.normalize(publishedBox) : r
    const listed = relays.map(advertised)
    const reachable = listed.filter(isPubliclyReachableRelay)
    const toReachable = relays.filter((r) => isPubliclyReachableRelay(advertised(r)))
    const local = relays.filter((r) => !isPubliclyReachableRelay(advertised(r)))
    const [toOthers, toLocal] = await Promise.all([
      reachable.length
        ? this.pool.publish(this.sign(inboxRelayList(reachable)), toReachable)
        : Promise.resolve([]),
      local.length
        ? this.pool.publish(this.sign(inboxRelayList(listed)), local)
        : Promise.resolve([]),
    ])
    return [...toOthers, ...toLocal]
  }

  /** A recipient's NIP-17 inbox relays (their newest kind 10050), cached for a while. */
  private async inboxRelaysOf(pubkey: string, hints: readonly string[]): Promise<string[]> {
    const cached = this.inboxCache.get(pubkey)
    if (cached && Date.now() - cached.at < INBOX_CACHE_MS) return cached.relays
    const where = [...new Set([...this.inboxRelays(), ...hints])]
    const found = await this.pool.query([{ kinds: [KIND_DM_RELAYS], authors: [pubkey] }], where)
    const newest = found.sort((a, b) => b.created_at - a.created_at)[0]
    const relays = newest ? inboxRelaysOf(newest) : []
    if (relays.length) this.inboxCache.set(pubkey, { relays, at: Date.now() })
    return relays
  }

  // ── private messages (NIP-17) ──────────────────────────────────────────────────────────────

  private subscribeInbox() {
    if (!this.keys.unlocked) return
    const me = this.keys.pubkey!
    this.pool.subscribe(
      'dm',
      [
        { kinds: [KIND_GIFT_WRAP], '#p': [me] },
        { kinds: [KIND_LEGACY_DM], '#p': [me] },
        { kinds: [KIND_LEGACY_DM], authors: [me] },
      ],
      (event) => this.onInboxEvent(event),
      this.inboxRelays(),
    )
  }

  private onInboxEvent(event: Event) {
    if (!this.keys.unlocked || !this.store) return
    try {
      if (event.kind === KIND_GIFT_WRAP) this.onGiftWrap(event)
      else if (event.kind === KIND_LEGACY_DM) this.onLegacyMessage(event)
    } catch (err) {
      this.opts.log.debug('ignored an unreadable message', {
        kind: event.kind,
        id: event.id,
        error: err instanceof Error ? err.message : String(err),
      })
    }
  }

  private onGiftWrap(wrap: Event) {
    const store = this.store!
    if (store.wrapOpened(wrap.id)) return
    const sk = this.keys.secretKey()
    const rumor = openGiftWrap(wrap, sk)
    store.markWrapOpened(wrap.id)
    if (rumor.kind !== KIND_CHAT || typeof rumor.content !== 'string') return
    const me = this.keys.pubkey!
    const participants = rumorParticipants(rumor).filter((p) => HEX64.test(p))
    // A message that does not include us (not author, not tagged) is not ours to show.
    if (rumor.pubkey !== me && !participants.includes(me)) return
    const conversationId = dmConversationId(me, participants)
    this.receive(
      {
        id: rumor.id,
        conversationId,
        kind: KIND_CHAT,
        author: rumor.pubkey,
        content: rumor.content,
        createdAt: rumor.created_at,
        legacy: false,
        fromMe: rumor.pubkey === me,
      },
      { kind: 'dm', peers: peersOfConversation(conversationId), subject: subjectOf(rumor.tags) },
    )
  }

  private onLegacyMessage(event: Event) {
    const me = this.keys.pubkey!
    const { peer, text } = readLegacyDirectMessage(event, this.keys.secretKey())
    const conversationId = dmConversationId(me, [peer])
    this.receive(
      {
        id: event.id,
        conversationId,
        kind: KIND_LEGACY_DM,
        author: event.pubkey,
        content: text,
        createdAt: event.created_at,
        legacy: true,
        fromMe: event.pubkey === me,
      },
      { kind: 'dm', peers: [peer] },
    )
  }

  private receive(
    m: Omit<StoredMessage, 'seq'>,
    c: { kind: 'dm' | 'group'; peers?: string[]; subject?: string; relay?: string; id?: string },
  ) {
    const store = this.store!
    store.ensureConversation({
      id: m.conversationId,
      kind: c.kind,
      peers: c.peers ?? [],
      title: c.subject ?? null,
      groupRelay: c.relay ?? null,
      groupId: c.id ?? null,
      createdAt: m.createdAt,
    })
    if (!store.addMessage(m)) return
    for (const p of c.peers ?? []) void this.ensureProfile(p)
    const stored = store.message(m.id)
    if (stored) {
      this.opts.events.publish({ topic: 'nostr', type: 'message', message: this.toMessage(stored) })
    }
  }

  async sendDirectMessage(input: {
    to: string
    text: string
    subject?: string
  }): Promise<SendResult> {
    const store = this.requireStore()
    const me = this.me()
    let recipients: { pubkey: string; relays: readonly string[] }[]
    if (input.to.startsWith('dm:')) {
      recipients = peersOfConversation(input.to)
        .filter((p) => HEX64.test(p))
        .map((pubkey) => ({ pubkey, relays: [] }))
      if (!recipients.length) throw badConversation()
    } else if (input.to.includes('@')) {
      const found = await resolveNip05(input.to, this.nip05Options())
      if (!found) {
        throw new FlashError(
          'nostr.nip05_not_found',
          `${input.to} is not listed by its domain.`,
          'Check the spelling, or ask the person for their npub.',
        )
      }
      recipients = [found]
    } else {
      recipients = [decodePubkey(input.to)]
    }
    const to = recipients.map((r) => r.pubkey).filter((p) => p !== me)
    const inboxes = new Map<string, string[]>()
    for (const r of recipients) {
      if (r.pubkey === me) continue
      const relays = await this.inboxRelaysOf(r.pubkey, r.relays)
      const usable = relays.length ? relays : [...r.relays]
      if (!usable.length) {
        throw new FlashError(
          'nostr.no_inbox',
          `${npub(r.pubkey).slice(0, 16)}… has not said where to receive private messages.`,
          'Ask them to open their Nostr app once (it publishes their inbox relays), or send an nprofile code that includes a relay.',
        )
      }
      inboxes.set(r.pubkey, usable)
    }
    const { rumor, wraps } = createDirectMessage(this.keys.secretKey(), to, input.text, {
      ...(input.subject ? { subject: input.subject } : {}),
    })
    const conversationId = dmConversationId(me, [me, ...to])
    store.ensureConversation({
      id: conversationId,
      kind: 'dm',
      peers: to,
      title: input.subject ?? null,
      createdAt: rumor.created_at,
    })
    store.addMessage({
      id: rumor.id,
      conversationId,
      kind: KIND_CHAT,
      author: me,
      content: rumor.content,
      createdAt: rumor.created_at,
      legacy: false,
      fromMe: true,
    })
    // Our own copy must not be opened again when it comes back from the relay.
    for (const w of wraps) if (w.recipient === me) store.markWrapOpened(w.wrap.id)
    const pending: RelayDelivery[] = [...new Set([...inboxes.values()].flat())].map((relay) => ({
      relay: RelayPool.normalize(relay),
      status: 'pending',
    }))
    store.setDeliveries(rumor.id, pending)
    const results = await Promise.all(
      wraps.map(async ({ recipient, wrap }) => {
        const relays = recipient === me ? this.inboxRelays() : inboxes.get(recipient)!
        const res = await this.pool.publish(wrap, relays)
        return recipient === me ? [] : res
      }),
    )
    const delivery = results.flat()
    store.setDeliveries(rumor.id, delivery)
    this.opts.events.publish({
      topic: 'nostr',
      type: 'delivery',
      conversationId,
      messageId: rumor.id,
      delivery,
    })
    return { conversationId, messageId: rumor.id, delivery }
  }

  // ── conversations ──────────────────────────────────────────────────────────────────────────

  conversations(): ConversationSummary[] {
    const store = this.requireStore()
    return store.conversations().map(({ conversation, last, unread }) => {
      const peers = conversation.peers.map((p) => this.person(p))
      return {
        id: conversation.id,
        kind: conversation.kind,
        title: this.titleOf(conversation, peers),
        peers,
        ...(conversation.groupRelay && conversation.groupId
          ? {
              group: {
                relay: conversation.groupRelay,
                id: conversation.groupId,
                reference: groupReference(conversation.groupRelay, conversation.groupId),
              },
            }
          : {}),
        ...(last
          ? {
              lastMessage: {
                text: last.content.slice(0, 200),
                at: new Date(last.createdAt * 1000).toISOString(),
                fromMe: last.fromMe,
              },
            }
          : {}),
        unread,
      }
    })
  }

  private titleOf(c: StoredConversation, peers: PersonRef[]): string {
    if (c.title) return c.title
    if (c.kind === 'group') return c.groupId ?? 'Group'
    if (!peers.length) return 'Notes to self'
    return peers.map((p) => p.name ?? `${p.npub.slice(0, 12)}…`).join(', ')
  }

  messages(input: { conversationId: string; limit: number; before?: string }): Message[] {
    const store = this.requireStore()
    const before = input.before ? Math.floor(Date.parse(input.before) / 1000) : undefined
    return store.messages(input.conversationId, input.limit, before).map((m) => this.toMessage(m))
  }

  markRead(conversationId: string) {
    const store = this.requireStore()
    if (!store.conversation(conversationId)) throw badConversation()
    store.markRead(conversationId)
  }

  private toMessage(m: StoredMessage): Message {
    return {
      id: m.id,
      conversationId: m.conversationId,
      author: this.person(m.author),
      fromMe: m.fromMe,
      text: m.content,
      createdAt: new Date(m.createdAt * 1000).toISOString(),
      kind: m.kind,
      legacy: m.legacy,
      delivery: this.store?.deliveries(m.id) ?? [],
    }
  }

  private person(pubkey: string): PersonRef {
    const profile = this.store?.profile(pubkey)
    let name: string | undefined
    if (profile) {
      try {
        const p = JSON.parse(profile.content) as Profile
        name = p.display_name || p.name || undefined
      } catch {
        // a malformed kind 0 just means no name
      }
    }
    return { pubkey, npub: npub(pubkey), ...(name ? { name: name.slice(0, 100) } : {}) }
  }

  // ── groups (NIP-29) ────────────────────────────────────────────────────────────────────────

  private readonly groupSubscriptionKeys = new Set<string>()

  private subscribeGroups() {
    if (!this.keys.unlocked || !this.store) return
    const byRelay = new Map<string, string[]>()
    for (const { conversation } of this.store.conversations()) {
      if (conversation.kind !== 'group' || !conversation.groupRelay || !conversation.groupId)
        continue
      const list = byRelay.get(conversation.groupRelay) ?? []
      list.push(conversation.groupId)
      byRelay.set(conversation.groupRelay, list)
    }
    for (const key of this.groupSubscriptionKeys) {
      if (!byRelay.has(key.slice('groups:'.length))) this.pool.unsubscribe(key)
    }
    this.groupSubscriptionKeys.clear()
    for (const [relay, ids] of byRelay) {
      const key = `groups:${relay}`
      this.groupSubscriptionKeys.add(key)
      this.pool.subscribe(
        key,
        [
          { kinds: [GroupKind.chat, GroupKind.deleteEvent], '#h': ids },
          { kinds: [GroupKind.metadata], '#d': ids },
        ],
        (event) => this.onGroupEvent(relay, event),
        [relay],
      )
    }
  }

  private onGroupEvent(relay: string, event: Event) {
    if (!this.store || !this.keys.unlocked) return
    const groupId = groupIdOf(event)
    if (!groupId) return
    const conversationId = groupConversationId(relay, groupId)
    if (!this.store.conversation(conversationId)) return
    if (event.kind === GroupKind.metadata) {
      const meta = readGroupMetadata(event)
      if (meta.name) {
        this.store.ensureConversation({
          id: conversationId,
          kind: 'group',
          title: meta.name,
          createdAt: event.created_at,
        })
      }
      return
    }
    if (event.kind === GroupKind.deleteEvent) {
      for (const t of event.tags) if (t[0] === 'e' && t[1]) this.store.markDeleted(t[1])
      return
    }
    if (event.kind === GroupKind.chat) {
      this.receive(
        {
          id: event.id,
          conversationId,
          kind: GroupKind.chat,
          author: event.pubkey,
          content: event.content,
          createdAt: event.created_at,
          legacy: false,
          fromMe: event.pubkey === this.keys.pubkey,
        },
        { kind: 'group', relay, id: groupId },
      )
      void this.ensureProfile(event.pubkey)
    }
  }

  private group(conversationId: string): { relay: string; groupId: string } {
    const store = this.requireStore()
    const g = parseGroupConversationId(conversationId)
    if (!g || !store.conversation(conversationId)) throw badConversation()
    return g
  }

  /** Publishes a group management event; a refusal becomes the relay's words in a FlashError. */
  private async groupPublish(relay: string, template: EventTemplate, what: string) {
    const event = this.sign(template)
    const delivery = await this.pool.publish(event, [relay])
    const d = delivery[0]!
    if (d.status !== 'ok') {
      throw new FlashError(
        'nostr.group_refused',
        d.status === 'rejected'
          ? `The group's relay refused to ${what}: ${d.message || d.prefix || 'no reason given'}.`
          : `Could not ${what}: ${d.message ?? 'the relay did not answer'}.`,
        d.status === 'rejected'
          ? 'Only the group’s admins can do this; check that you are one, or ask an admin.'
          : 'Check that the relay is running (Relays), then try again.',
      )
    }
    return { event, delivery }
  }

  async createGroup(input: {
    name: string
    about?: string
    private: boolean
    closed: boolean
    relay?: string
  }): Promise<ConversationSummary> {
    const store = this.requireStore()
    const relay = input.relay ? RelayPool.normalize(input.relay) : this.boxRelay()
    if (!relay) {
      throw new FlashError(
        'nostr.no_box_relay',
        'This box’s relay is not running, so there is nowhere to create the group.',
        'Turn the relay on in Settings, or choose another relay that supports groups.',
      )
    }
    const groupId = newGroupId()
    const conversationId = groupConversationId(relay, groupId)
    store.ensureConversation({
      id: conversationId,
      kind: 'group',
      title: input.name,
      groupRelay: relay,
      groupId,
      createdAt: Math.floor(Date.now() / 1000),
    })
    this.syncRelays()
    await this.groupPublish(relay, createGroupTemplate(groupId), 'create the group')
    await this.groupPublish(
      relay,
      editMetadataTemplate(groupId, {
        name: input.name,
        ...(input.about ? { about: input.about } : {}),
        private: input.private,
        closed: input.closed,
      }),
      'name the group',
    )
    this.subscribeGroups()
    return this.conversations().find((c) => c.id === conversationId)!
  }

  async inviteToGroup(input: { conversationId: string; pubkey?: string }) {
    const { relay, groupId } = this.group(input.conversationId)
    if (input.pubkey) {
      const { pubkey } = decodePubkey(input.pubkey)
      await this.groupPublish(relay, putUserTemplate(groupId, pubkey), 'add this person')
      return { added: pubkey }
    }
    const code = newInviteCode()
    await this.groupPublish(relay, createInviteTemplate(groupId, code), 'create an invite')
    return { code }
  }

  async joinGroup(input: {
    reference: string
    groupId?: string
    code?: string
  }): Promise<ConversationSummary> {
    const store = this.requireStore()
    const known = [...this.inboxRelays(), ...this.groupRelays()]
    const { relay: rawRelay, groupId } = input.groupId
      ? { relay: input.reference, groupId: input.groupId }
      : parseGroupReference(input.reference, known)
    const relay = RelayPool.normalize(rawRelay)
    const conversationId = groupConversationId(relay, groupId)
    const existed = !!store.conversation(conversationId)
    try {
      await this.groupPublish(relay, joinRequestTemplate(groupId, input.code), 'join the group')
    } catch (err) {
      // "duplicate:" (already a member) is fine; anything else is the relay's refusal.
      if (!(err instanceof FlashError) || !/already/i.test(err.message)) throw err
    }
    if (!existed) {
      store.ensureConversation({
        id: conversationId,
        kind: 'group',
        groupRelay: relay,
        groupId,
        createdAt: Math.floor(Date.now() / 1000),
      })
    }
    this.syncRelays()
    this.subscribeGroups()
    return this.conversations().find((c) => c.id === conversationId)!
  }

  async postToGroup(input: { conversationId: string; text: string }): Promise<SendResult> {
    const store = this.requireStore()
    const { relay, groupId } = this.group(input.conversationId)
    const previous = store
      .messages(input.conversationId, 3)
      .map((m) => m.id.slice(0, 8))
      .reverse()
    const event = this.sign(chatTemplate(groupId, input.text, previous))
    store.addMessage({
      id: event.id,
      conversationId: input.conversationId,
      kind: GroupKind.chat,
      author: event.pubkey,
      content: event.content,
      createdAt: event.created_at,
      legacy: false,
      fromMe: true,
    })
    store.setDeliveries(event.id, [{ relay, status: 'pending' }])
    const delivery = await this.pool.publish(event, [relay])
    store.setDeliveries(event.id, delivery)
    this.opts.events.publish({
      topic: 'nostr',
      type: 'delivery',
      conversationId: input.conversationId,
      messageId: event.id,
      delivery,
    })
    return { conversationId: input.conversationId, messageId: event.id, delivery }
  }

  async moderateGroup(
    input:
      | { action: 'put-user'; conversationId: string; pubkey: string; role?: string }
      | { action: 'remove-user'; conversationId: string; pubkey: string }
      | { action: 'delete-event'; conversationId: string; eventId: string },
  ) {
    const { relay, groupId } = this.group(input.conversationId)
    if (input.action === 'delete-event') {
      const { delivery } = await this.groupPublish(
        relay,
        deleteEventTemplate(groupId, input.eventId),
        'delete the message',
      )
      this.store?.markDeleted(input.eventId)
      return { delivery }
    }
    const { pubkey } = decodePubkey(input.pubkey)
    const template =
      input.action === 'put-user'
        ? putUserTemplate(groupId, pubkey, input.role)
        : removeUserTemplate(groupId, pubkey)
    const { delivery } = await this.groupPublish(
      relay,
      template,
      input.action === 'put-user' ? 'add this person' : 'remove this person',
    )
    return { delivery }
  }

  // ── business profile (kind 0) and NIP-05 ───────────────────────────────────────────────────

  getProfile(): { profile: Profile; updatedAt?: string } {
    const store = this.requireStore()
    const stored = store.profile(this.keys.pubkey!)
    if (!stored) return { profile: {} }
    return {
      profile: parseProfile(stored.content),
      updatedAt: new Date(stored.createdAt * 1000).toISOString(),
    }
  }

  async setProfile(
    profile: Profile,
  ): Promise<{ profile: Profile; delivery: readonly RelayDelivery[] }> {
    const store = this.requireStore()
    const clean = Object.fromEntries(
      Object.entries(profile).filter(([, v]) => typeof v === 'string' && v !== ''),
    ) as Profile
    const previous = store.profile(this.keys.pubkey!)
    const createdAt = Math.max(Math.floor(Date.now() / 1000), (previous?.createdAt ?? 0) + 1)
    const event = this.sign({
      kind: 0,
      created_at: createdAt,
      tags: [],
      content: JSON.stringify(clean),
    })
    store.putProfile(event.pubkey, event.content, event.created_at)
    const delivery = await this.pool.publish(event, this.inboxRelays())
    return { profile: clean, delivery }
  }

  private async refreshProfile(pubkey: string) {
    const found = await this.pool.query([{ kinds: [0], authors: [pubkey] }], this.inboxRelays())
    for (const e of found) this.store?.putProfile(e.pubkey, e.content, e.created_at)
  }

  private async ensureProfile(pubkey: string) {
    if (this.profileRequested.has(pubkey) || this.store?.profile(pubkey)) return
    this.profileRequested.add(pubkey)
    await this.refreshProfile(pubkey).catch(() => {})
  }

  nip05Names(): Record<string, string> {
    return { ...this.config.nip05Names }
  }

  setNip05Names(names: Record<string, string>): Record<string, string> {
    this.config = { ...this.config, nip05Names: { ...names } }
    this.writeConfig()
    return this.nip05Names()
  }

  /** The `/.well-known/nostr.json` answer for H3's HTTP server (see nip05.ts). */
  nip05Response(query: string | null) {
    const relays: Record<string, string[]> = {}
    const inbox = this.inboxRelays()
    for (const pk of Object.values(this.config.nip05Names)) relays[pk] = inbox
    return nip05Response(this.config.nip05Names, query, relays)
  }

  private nip05Options() {
    return {
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      ...(this.opts.nip05Scheme ? { scheme: this.opts.nip05Scheme } : {}),
    }
  }

  async verifyNip05(address: string, pubkeyInput: string) {
    const { pubkey } = decodePubkey(pubkeyInput)
    return verifyNip05(address, pubkey, this.nip05Options())
  }

  async decode(text: string): Promise<DecodedReference> {
    if (text.includes('@') && !text.startsWith('nostr:')) {
      const found = await resolveNip05(text, this.nip05Options())
      if (!found) {
        throw new FlashError(
          'nostr.nip05_not_found',
          `${text} is not listed by its domain.`,
          'Check the spelling, or ask the person for their npub.',
        )
      }
      return { type: 'nip05', pubkey: found.pubkey, npub: npub(found.pubkey), relays: found.relays }
    }
    return decodeReference(text)
  }
}

function subjectOf(tags: string[][]): string | undefined {
  const s = tags.find((t) => t[0] === 'subject')?.[1]
  return s ? s.slice(0, 200) : undefined
}

function parseProfile(content: string): Profile {
  try {
    const raw = JSON.parse(content) as Record<string, unknown>
    const picked = Object.fromEntries(
      Object.entries(raw).filter(
        ([k, v]) => k in ProfileSchema.shape && typeof v === 'string' && v.length <= 2000,
      ),
    )
    return picked as Profile
  } catch {
    return {}
  }
}

function badConversation() {
  return new FlashError(
    'nostr.unknown_conversation',
    'That conversation does not exist on this box.',
    'Pick a conversation from the list, or start a new one.',
  )
}
