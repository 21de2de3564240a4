// The 'nostr' engine module: the box's Nostr client behind the API domain in
// src/shared/api/nostr.ts. By default the box's own relay (the 'relay' module, when it runs)
// is always in the relay list; the user's relays are added to it.
import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'
import type { nostrApi } from '../../shared/api/nostr'
import { NostrClient, type NostrClientOptions } from './nostr-client'
import type { Nip05HttpResponse } from './nip05'
import { publishedUrls } from '../reach/public-address'
import { boxKeyFor } from '../secrets/box-key'

export interface NostrModule extends EngineModule<typeof nostrApi> {
  readonly client: NostrClient
  /** For the HTTP server: GET /.well-known/nostr.json?name=… */
  nip05Response(name: string | null): Nip05HttpResponse
}

export interface NostrModuleOptions {
  /** Overrides the box relay URL (tests, or a relay running elsewhere). */
  readonly boxRelayUrl?: string | (() => string | undefined)
  /** The box relay's published address (default: from Settings → Reachability). */
  readonly publishedBoxRelayUrl?: () => string | undefined
  readonly pool?: NostrClientOptions['pool']
  readonly logN?: number
  readonly fetch?: NostrClientOptions['fetch']
  readonly nip05Scheme?: NostrClientOptions['nip05Scheme']
}

/** Finds the embedded relay's ws:// URL on the relay module, whatever shape it exposes it in. */
export function relayUrlOf(mod: unknown): string | undefined {
  if (!mod || typeof mod !== 'object') return undefined
  const m = mod as Record<string, unknown>
  for (const key of ['url', 'relayUrl', 'localUrl']) {
    const v = m[key]
    if (typeof v === 'string' && /^wss?:\/\//.test(v)) return v
    if (typeof v === 'function') {
      try {
        const r = (v as () => unknown).call(mod)
        if (typeof r === 'string' && /^wss?:\/\//.test(r)) return r
      } catch {
        // not running
      }
    }
  }
  return undefined
}

/**
 * The box's own identity manages the box's relay (creates staff groups, NIP-86): add it to the
 * embedded relay's admins through that module's API, keeping the admins already listed.
 */
async function makeRelayAdmin(ctx: EngineContext, pubkey: string): Promise<void> {
  const handlers = ctx.modules.get('relay')?.handlers as
    Record<string, (input: unknown, c: RequestContext) => Promise<unknown>> | undefined
  if (!handlers?.status || !handlers.setAdmins) return
  const internal: RequestContext = { transport: 'internal' }
  const status = (await handlers.status({}, internal)) as { adminPubkeys?: readonly string[] }
  const admins = status.adminPubkeys ?? []
  if (admins.includes(pubkey)) return
  await handlers.setAdmins({ pubkeys: [...admins, pubkey] }, internal)
}

export function createNostrModule(
  ctx: EngineContext,
  options: NostrModuleOptions = {},
): NostrModule {
  const dir = join(ctx.dataDir, 'nostr')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const boxRelayUrl =
    typeof options.boxRelayUrl === 'function'
      ? options.boxRelayUrl
      : typeof options.boxRelayUrl === 'string'
        ? () => options.boxRelayUrl as string
        : () => relayUrlOf(ctx.modules.get('relay'))
  const client = new NostrClient({
    dir,
    log: ctx.log.child('nostr'),
    events: ctx.events,
    boxRelayUrl,
    publishedBoxRelayUrl: options.publishedBoxRelayUrl ?? (() => publishedUrls(ctx.dataDir).relay),
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.logN ? { logN: options.logN } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.nip05Scheme ? { nip05Scheme: options.nip05Scheme } : {}),
    onIdentityReady: (pubkey) => makeRelayAdmin(ctx, pubkey),
    box: boxKeyFor(ctx.dataDir),
  })

  return {
    name: 'nostr',
    client,
    nip05Response: (name) => client.nip05Response(name),
    async start() {
      client.start()
    },
    async stop() {
      client.stop()
    },
    handlers: {
      status: async () => client.status(),
      identity: async () => client.identity(),
      createKey: (i) => client.createKey(i),
      importKey: (i) => client.importKey(i),
      unlock: (i) => client.unlock(i.passphrase),
      lock: async () => client.lock(),
      exportKey: async (i) => client.exportKey(i.passphrase),
      relays: async () => client.relays(),
      relayHealth: async () => client.relayHealth(),
      addRelay: (i) => client.addRelay(i.url),
      removeRelay: (i) => client.removeRelay(i.url),
      decode: (i) => client.decode(i.text),
      conversations: async () => client.conversations(),
      messages: async (i) => client.messages(i),
      sendDirectMessage: (i) => client.sendDirectMessage(i),
      markRead: async (i) => client.markRead(i.conversationId),
      createGroup: (i) => client.createGroup(i),
      inviteToGroup: (i) => client.inviteToGroup(i),
      joinGroup: (i) => client.joinGroup(i),
      postToGroup: (i) => client.postToGroup(i),
      moderateGroup: (i) => client.moderateGroup(i),
      getProfile: async () => client.getProfile(),
      setProfile: (i) => client.setProfile(i),
      nip05Names: async () => client.nip05Names(),
      setNip05Names: async (i) => client.setNip05Names(i.names),
      verifyNip05: (i) => client.verifyNip05(i.nip05, i.pubkey),
    },
  }
}

/** The factory listed in src/core/engine/modules.ts. */
export const nostrModule: EngineModuleFactory = (ctx) => createNostrModule(ctx)

/** A factory with options (tests: a relay URL, fast backoff). */
export const nostrModuleWith =
  (options: NostrModuleOptions): EngineModuleFactory =>
  (ctx) =>
    createNostrModule(ctx, options)
