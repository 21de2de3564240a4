// The relay as its own process (the container's entry point; also used by the durability test).
// Configuration from the environment, validated:
//   RELAY_PORT (default 7777), RELAY_HOST (default 0.0.0.0 in a container, else 127.0.0.1),
//   RELAY_DB (default /data/relay.db), RELAY_CONFIG (path to a JSON file: { policies,
//   adminPubkeys, publicUrls, name, description }), RELAY_ADMIN_PUBKEYS (comma-separated hex),
//   RELAY_PUBLIC_URL (comma-separated ws(s):// URLs clients use), RELAY_TRUSTED_PROXIES
//   (comma-separated IPs whose X-Forwarded-For names the client, or `gateway`: the container's
//   default gateway, where the box's front door comes from; services/shared/trusted-proxies.ts).
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { RelayPolicySchema } from './config'
import { startRelay } from './index'
import { resolveTrustedProxies } from '../../shared/trusted-proxies'

const FileSchema = z.object({
  policies: RelayPolicySchema.prefault({}),
  adminPubkeys: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
  publicUrls: z.array(z.string().max(500)).default([]),
  name: z.string().max(100).optional(),
  description: z.string().max(2000).optional(),
})

const EnvSchema = z.object({
  RELAY_PORT: z.coerce.number().int().min(0).max(65535).default(7777),
  RELAY_HOST: z.string().default('127.0.0.1'),
  RELAY_DB: z.string().min(1).default('/data/relay.db'),
  RELAY_CONFIG: z.string().optional(),
  RELAY_ADMIN_PUBKEYS: z.string().default(''),
  RELAY_PUBLIC_URL: z.string().default(''),
  RELAY_TRUSTED_PROXIES: z.string().default(''),
})

const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
  process.stdout.write(
    `${new Date().toISOString()} ${level} [relay] ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}\n`,
  )
const log = {
  info: (m: string, f?: Record<string, unknown>) => line('info', m, f),
  warn: (m: string, f?: Record<string, unknown>) => line('warn', m, f),
  error: (m: string, f?: Record<string, unknown>) => line('error', m, f),
}

async function main(): Promise<void> {
  const env = EnvSchema.parse(process.env)
  const file = FileSchema.parse(
    env.RELAY_CONFIG ? JSON.parse(readFileSync(env.RELAY_CONFIG, 'utf8')) : {},
  )
  const split = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
  const admins = [...file.adminPubkeys, ...split(env.RELAY_ADMIN_PUBKEYS)]
  z.array(z.string().regex(/^[0-9a-f]{64}$/, 'RELAY_ADMIN_PUBKEYS must be hex pubkeys')).parse(
    admins,
  )
  const r = await startRelay({
    port: env.RELAY_PORT,
    host: env.RELAY_HOST,
    dbPath: env.RELAY_DB,
    policies: file.policies,
    adminPubkeys: admins,
    publicUrls: [...file.publicUrls, ...split(env.RELAY_PUBLIC_URL)],
    trustedProxies: resolveTrustedProxies(env.RELAY_TRUSTED_PROXIES),
    name: file.name,
    description: file.description,
    log,
  })
  const port = new URL(r.url).port
  log.info(`relay listening on ${env.RELAY_HOST}:${port}`, {
    url: r.url,
    port: Number(port),
    verifier: r.relay.verifierEngine,
    verifyThreads: r.relay.verifyThreads,
  })
  let stopping = false
  const stop = (sig: string) => {
    if (stopping) return
    stopping = true
    log.info(`relay stopping (${sig})`)
    r.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err: unknown) => {
  const msg =
    err instanceof z.ZodError
      ? `bad configuration: ${err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`
      : (err as Error).message
  line('error', `relay could not start: ${msg}`)
  process.exit(1)
})
