// NIP-86 relay management API: JSON-RPC over HTTP on the relay's URL, NIP-98 authenticated,
// callable only by the box's admin pubkeys. The same operations back the engine's relay API.
// https://github.com/nostr-protocol/nips/blob/master/86.md
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { checkHttpAuth } from './nip98'
import type { Relay } from './relay'
import { loadVerifier } from './verify'

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/)
const Reason = z.string().max(500).optional()
const Kind = z.number().int().min(0).max(65535)
const Ip = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[0-9a-fA-F:.]+$/)

/** Operator list management shared by NIP-86 and the engine API. */
export class RelayManagement {
  constructor(private readonly relay: Relay) {}
  private get store() {
    return this.relay.store
  }
  banPubkey(pk: string, reason = ''): void {
    this.store.transaction(() => {
      this.store.listRemove('allowed-pubkey', pk)
      this.store.listAdd('banned-pubkey', pk, reason)
    })
  }
  unbanPubkey(pk: string): void {
    this.store.listRemove('banned-pubkey', pk)
  }
  allowPubkey(pk: string, reason = ''): void {
    this.store.transaction(() => {
      this.store.listRemove('banned-pubkey', pk)
      this.store.listAdd('allowed-pubkey', pk, reason)
    })
  }
  unallowPubkey(pk: string): void {
    this.store.listRemove('allowed-pubkey', pk)
  }
  banEvent(id: string, reason = ''): void {
    this.store.transaction(() => {
      this.store.listRemove('allowed-event', id)
      this.store.listAdd('banned-event', id, reason)
      this.store.deleteAny([id])
    })
  }
  unbanEvent(id: string): void {
    this.store.listRemove('banned-event', id)
  }
  allowEvent(id: string, reason = ''): void {
    this.store.transaction(() => {
      this.store.listRemove('banned-event', id)
      this.store.listAdd('allowed-event', id, reason)
    })
  }
  blockIp(ip: string, reason = ''): void {
    this.store.listAdd('blocked-ip', ip, reason)
  }
  unblockIp(ip: string): void {
    this.store.listRemove('blocked-ip', ip)
  }
  allowKind(kind: number): void {
    this.store.transaction(() => {
      this.store.listRemove('disallowed-kind', String(kind))
      this.store.listAdd('allowed-kind', String(kind))
    })
  }
  disallowKind(kind: number): void {
    this.store.transaction(() => {
      this.store.listRemove('allowed-kind', String(kind))
      this.store.listAdd('disallowed-kind', String(kind))
    })
  }
  list(name: Parameters<Relay['store']['listAll']>[0]) {
    return this.store.listAll(name)
  }
}

type Handler = (params: unknown[], m: RelayManagement, relay: Relay) => unknown

const one = <T extends z.ZodType>(schema: T) => z.tuple([schema]).rest(z.unknown())
const withReason = <T extends z.ZodType>(schema: T) =>
  z
    .tuple([schema])
    .rest(z.unknown())
    .transform((p) => ({
      v: p[0] as z.infer<T>,
      reason: Reason.catch(undefined).parse(p[1]) ?? '',
    }))

const methods: Record<string, Handler> = {
  banpubkey: (p, m) =>
    (({ v, reason }) => (m.banPubkey(v, reason), true))(withReason(Hex64).parse(p)),
  unbanpubkey: (p, m) => (m.unbanPubkey(one(Hex64).parse(p)[0]), true),
  listbannedpubkeys: (_p, m) =>
    m.list('banned-pubkey').map((r) => ({ pubkey: r.value, reason: r.reason })),
  allowpubkey: (p, m) =>
    (({ v, reason }) => (m.allowPubkey(v, reason), true))(withReason(Hex64).parse(p)),
  unallowpubkey: (p, m) => (m.unallowPubkey(one(Hex64).parse(p)[0]), true),
  listallowedpubkeys: (_p, m) =>
    m.list('allowed-pubkey').map((r) => ({ pubkey: r.value, reason: r.reason })),
  listeventsneedingmoderation: () => [],
  banevent: (p, m) =>
    (({ v, reason }) => (m.banEvent(v, reason), true))(withReason(Hex64).parse(p)),
  unbanevent: (p, m) => (m.unbanEvent(one(Hex64).parse(p)[0]), true),
  allowevent: (p, m) =>
    (({ v, reason }) => (m.allowEvent(v, reason), true))(withReason(Hex64).parse(p)),
  listbannedevents: (_p, m) =>
    m.list('banned-event').map((r) => ({ id: r.value, reason: r.reason })),
  listallowedevents: (_p, m) =>
    m.list('allowed-event').map((r) => ({ id: r.value, reason: r.reason })),
  changerelayname: (p, _m, r) => (
    r.store.setMeta('name', one(z.string().min(1).max(100)).parse(p)[0]),
    true
  ),
  changerelaydescription: (p, _m, r) => (
    r.store.setMeta('description', one(z.string().max(2000)).parse(p)[0]),
    true
  ),
  changerelayicon: (p, _m, r) => (
    r.store.setMeta('icon', one(z.url().max(2000)).parse(p)[0]),
    true
  ),
  allowkind: (p, m) => (m.allowKind(one(Kind).parse(p)[0]), true),
  disallowkind: (p, m) => (m.disallowKind(one(Kind).parse(p)[0]), true),
  listallowedkinds: (_p, m) => m.list('allowed-kind').map((r) => Number(r.value)),
  listdisallowedkinds: (_p, m) => m.list('disallowed-kind').map((r) => Number(r.value)),
  blockip: (p, m) => (({ v, reason }) => (m.blockIp(v, reason), true))(withReason(Ip).parse(p)),
  unblockip: (p, m) => (m.unblockIp(one(Ip).parse(p)[0]), true),
  listblockedips: (_p, m) => m.list('blocked-ip').map((r) => ({ ip: r.value, reason: r.reason })),
}

const RpcSchema = z.object({
  method: z.string().max(64),
  params: z.array(z.unknown()).max(16).default([]),
})

/** Installs the NIP-86 endpoint on the relay's HTTP server. */
export function installManagementApi(relay: Relay): RelayManagement {
  const mgmt = new RelayManagement(relay)
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res
      .writeHead(status, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' })
      .end(JSON.stringify(body))
  }

  relay.management = async (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const verify = await loadVerifier()
    const host = req.headers.host ?? ''
    const auth = checkHttpAuth({
      header: req.headers.authorization,
      method: req.method ?? 'POST',
      body,
      isThisUrl: (u) => {
        try {
          const url = new URL(u)
          const self = new URL(`http://${host}`)
          // The `u` tag names the relay: same host:port as this request, or a configured public URL.
          return (
            (url.host === self.host && url.pathname.replace(/\/+$/, '') === '') ||
            relay.isThisRelay(u)
          )
        } catch {
          return false
        }
      },
      verify,
      now: relay.now(),
    })
    if (!auth.ok) return json(res, 401, { error: `unauthorized: ${auth.why}` })
    if (!relay.admins.has(auth.pubkey) || auth.pubkey === relay.key.pubkey)
      return json(res, 401, { error: 'unauthorized: this key may not manage the relay' })
    let rpc: z.infer<typeof RpcSchema>
    try {
      rpc = RpcSchema.parse(JSON.parse(body.toString('utf8')))
    } catch {
      return json(res, 400, { error: 'the request must be {"method": string, "params": array}' })
    }
    if (rpc.method === 'supportedmethods')
      return json(res, 200, { result: ['supportedmethods', ...Object.keys(methods)] })
    const handler = Object.hasOwn(methods, rpc.method) ? methods[rpc.method] : undefined
    if (!handler) return json(res, 200, { error: `unsupported method ${rpc.method}` })
    try {
      return json(res, 200, { result: handler(rpc.params, mgmt, relay) })
    } catch (err) {
      if (err instanceof z.ZodError)
        return json(res, 200, { error: `invalid params for ${rpc.method}` })
      throw err
    }
  }
  relay.managementOps = mgmt
  return mgmt
}
