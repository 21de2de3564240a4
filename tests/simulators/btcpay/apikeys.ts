// SIMULATOR — test-only. Greenfield "API Keys" (swagger.template.api-keys.json). Creating a key
// needs `unrestricted` (or Basic auth): a key can never hold more than its user, and permissions
// are checked per request against what the key was given (permissions.ts).
import { randomBytes } from 'node:crypto'
import {
  invalid,
  objectBody,
  ok,
  problem,
  str,
  type ApiKey,
  type Call,
  type GreenfieldRoute,
} from './greenfield'
import { parsePermission, Policies } from './permissions'

export const apiKeyData = (k: ApiKey) => ({
  apiKey: k.key,
  label: k.label,
  permissions: k.permissions,
})

function create(c: Call, userId: string) {
  const b = objectBody(c)
  const raw = b.permissions ?? []
  if (!Array.isArray(raw) || raw.some((p) => typeof p !== 'string'))
    throw invalid('permissions', 'permissions should be a list of strings')
  const permissions: string[] = []
  for (const [i, p] of (raw as string[]).entries()) {
    const parsed = parsePermission(p)
    if (!parsed) throw invalid(`permissions[${i}]`, `The permission '${p}' is invalid`)
    permissions.push(parsed.scope ? `${parsed.policy}:${parsed.scope}` : parsed.policy)
  }
  const key: ApiKey = {
    // BTCPay: 20 random bytes, hex.
    key: randomBytes(20).toString('hex'),
    userId,
    label: str(b, 'label') ?? '',
    permissions,
  }
  c.sim.apiKeys.set(key.key, key)
  return ok(apiKeyData(key))
}

function currentKey(c: Call): ApiKey {
  const h = c.req.headers.authorization ?? ''
  const m = /^token\s+(\S+)$/i.exec(h)
  const k = m ? c.sim.apiKeys.get(m[1]!) : undefined
  if (!k) throw problem(404, 'apikey-not-found', 'This request was not made with an API key')
  return k
}

export function routes(): GreenfieldRoute[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/api-keys',
      auth: { kind: 'policy', anyOf: [Policies.unrestricted] },
      handle: (c) => create(c, c.who!.userId),
    },
    {
      method: 'GET',
      path: '/api/v1/api-keys/current',
      auth: { kind: 'user' },
      handle: (c) => ok(apiKeyData(currentKey(c))),
    },
    {
      method: 'DELETE',
      path: '/api/v1/api-keys/current',
      auth: { kind: 'user' },
      handle: (c) => {
        c.sim.apiKeys.delete(currentKey(c).key)
        return ok(undefined)
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/api-keys/{apikey}',
      auth: { kind: 'policy', anyOf: [Policies.unrestricted] },
      handle: (c) => {
        const k = c.sim.apiKeys.get(c.params.apikey!)
        if (!k || (k.userId !== c.who!.userId && !c.who!.admin))
          throw problem(404, 'apikey-not-found', 'The API key was not found')
        c.sim.apiKeys.delete(k.key)
        return ok(undefined)
      },
    },
  ]
}
