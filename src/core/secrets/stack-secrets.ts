// The stack's secrets: generated once per box with crypto randomness, kept in one 0600 JSON file
// under <dataDir>/secrets (0700), loaded on every later run and never regenerated — regenerating
// would lock LND's wallet and break every service already set up with the old values. Each value
// is registered with redact() so no log line can show it.
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { z } from 'zod'
import { FlashError } from '../errors'
import { redact } from '../log'
import { stackPaths } from '../stack/paths'
import type { BitcoindRpcConsumer, StackSecrets } from '../stack/spec'
import { certThumbprint, generateLndTls } from './lnd-tls'
import { generateRpcauthSalt } from './rpcauth'
import { createSecretFileExclusive, ensureSecretDir } from './secret-file'

export const rpcConsumers: readonly BitcoindRpcConsumer[] = [
  'lnd',
  'electrs',
  'nbxplorer',
  'dashboard',
]

/** 32 random bytes (256 bits), hex: safe inside TOML, INI, URLs and Npgsql connection strings. */
export function generatePassword(): string {
  return randomBytes(32).toString('hex')
}

const Password = z.string().regex(/^[0-9a-f]{64}$/)
const Credential = z.object({
  user: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  password: Password,
  salt: z.string().regex(/^[0-9a-f]{32}$/),
})
const StackSecretsFile = z.object({
  version: z.literal(1),
  bitcoindRpc: z.object({
    lnd: Credential,
    electrs: Credential,
    nbxplorer: Credential,
    dashboard: Credential,
  }),
  lndWalletPassword: Password,
  lndTls: z.object({
    certPem: z.string().startsWith('-----BEGIN CERTIFICATE-----'),
    keyPem: z.string().startsWith('-----BEGIN EC PRIVATE KEY-----'),
    sha256Thumbprint: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  postgres: z.object({
    superuserPassword: Password,
    btcpayPassword: Password,
    nbxplorerPassword: Password,
  }),
})

export function secretsDir(dataDir: string): string {
  return stackPaths(dataDir).secretsDir
}

export function stackSecretsPath(dataDir: string): string {
  return stackPaths(dataDir).stackSecrets
}

async function generateStackSecrets(): Promise<StackSecrets> {
  const bitcoindRpc = Object.fromEntries(
    rpcConsumers.map((user) => [
      user,
      { user, password: generatePassword(), salt: generateRpcauthSalt() },
    ]),
  ) as unknown as StackSecrets['bitcoindRpc']
  return {
    bitcoindRpc,
    lndWalletPassword: generatePassword(),
    lndTls: await generateLndTls(),
    postgres: {
      superuserPassword: generatePassword(),
      btcpayPassword: generatePassword(),
      nbxplorerPassword: generatePassword(),
    },
  }
}

function damaged(path: string, cause?: unknown): FlashError {
  return new FlashError(
    'secrets.damaged',
    `The file with the passwords of your Bitcoin services (${path}) is damaged, so Flash Box cannot start them.`,
    'Restore this file from a copy of Flash Box’s folders (Settings → Backup says which to copy). Do not delete it: new passwords would lock your Lightning wallet.',
    { cause },
  )
}

function parse(path: string): StackSecrets {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw damaged(path, err)
  }
  const parsed = StackSecretsFile.safeParse(raw)
  if (!parsed.success) throw damaged(path, parsed.error)
  const { version: _version, ...secrets } = parsed.data
  if (certThumbprint(secrets.lndTls.certPem) !== secrets.lndTls.sha256Thumbprint) {
    throw damaged(path)
  }
  return secrets
}

/** Registers every secret value with the log scrubber. */
export function redactStackSecrets(s: StackSecrets): void {
  for (const c of Object.values(s.bitcoindRpc)) redact(c.password)
  redact(s.lndWalletPassword)
  redact(s.lndTls.keyPem)
  for (const line of s.lndTls.keyPem.split('\n')) if (line.length >= 16) redact(line)
  redact(s.postgres.superuserPassword)
  redact(s.postgres.btcpayPassword)
  redact(s.postgres.nbxplorerPassword)
}

/**
 * Loads the stack's secrets, creating them on the first run. Never overwrites an existing file;
 * a damaged file is an error with a hint, never a reason to make new secrets.
 */
export async function loadOrCreateStackSecrets(dataDir: string): Promise<StackSecrets> {
  const path = stackSecretsPath(dataDir)
  ensureSecretDir(secretsDir(dataDir))
  if (!existsSync(path)) {
    const fresh = await generateStackSecrets()
    redactStackSecrets(fresh)
    const created = createSecretFileExclusive(
      path,
      JSON.stringify({ version: 1, ...fresh }, null, 2) + '\n',
    )
    if (created) return fresh
    // Another process created it between our check and our write: use theirs.
  }
  // A restore from a backup may have loosened the mode; the file is ours, so make it private again.
  if ((statSync(path).mode & 0o777) !== 0o600) chmodSync(path, 0o600)
  const secrets = parse(path)
  redactStackSecrets(secrets)
  return secrets
}
