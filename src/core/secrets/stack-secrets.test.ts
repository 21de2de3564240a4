import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger } from '../log'
import type { StackSecrets } from '../stack/spec'
import { certThumbprint } from './lnd-tls'
import { loadOrCreateStackSecrets, secretsDir, stackSecretsPath } from './stack-secrets'

const dirs: string[] = []
function tempDataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'flashbox-secrets-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function allPasswords(s: StackSecrets): string[] {
  return [
    ...Object.values(s.bitcoindRpc).map((c) => c.password),
    s.lndWalletPassword,
    s.postgres.superuserPassword,
    s.postgres.btcpayPassword,
    s.postgres.nbxplorerPassword,
  ]
}

describe('loadOrCreateStackSecrets', () => {
  it('creates private files once and loads the same values later', async () => {
    const dataDir = tempDataDir()
    const first = await loadOrCreateStackSecrets(dataDir)
    const path = stackSecretsPath(dataDir)
    if (process.platform !== 'win32') {
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(statSync(secretsDir(dataDir)).mode & 0o777).toBe(0o700)
    }
    const before = readFileSync(path, 'utf8')
    const second = await loadOrCreateStackSecrets(dataDir)
    expect(second).toEqual(first)
    expect(readFileSync(path, 'utf8')).toBe(before) // never rewritten
  })

  it('makes distinct 256-bit passwords, one rpc user per consumer', async () => {
    const s = await loadOrCreateStackSecrets(tempDataDir())
    const pw = allPasswords(s)
    for (const p of pw) expect(p).toMatch(/^[0-9a-f]{64}$/) // 32 random bytes
    expect(new Set(pw).size).toBe(pw.length)
    expect(Object.keys(s.bitcoindRpc).sort()).toEqual(['dashboard', 'electrs', 'lnd', 'nbxplorer'])
    for (const [consumer, c] of Object.entries(s.bitcoindRpc)) expect(c.user).toBe(consumer)
    const other = await loadOrCreateStackSecrets(tempDataDir())
    expect(other.lndWalletPassword).not.toBe(s.lndWalletPassword) // per box, not built in
  })

  it('makes an ECDSA P-256 TLS certificate for lnd, localhost and 127.0.0.1 with a pinned thumbprint', async () => {
    const { lndTls } = await loadOrCreateStackSecrets(tempDataDir())
    const cert = new X509Certificate(lndTls.certPem)
    expect(cert.subjectAltName).toBe('DNS:lnd, DNS:localhost, IP Address:127.0.0.1')
    expect(cert.verify(cert.publicKey)).toBe(true)
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(cert.ca).toBe(true)
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 5 * 365 * 864e5)
    expect(cert.fingerprint256.replaceAll(':', '').toLowerCase()).toBe(lndTls.sha256Thumbprint)
    expect(certThumbprint(lndTls.certPem)).toBe(lndTls.sha256Thumbprint)
    const pub = createPublicKey(createPrivateKey(lndTls.keyPem)).export({
      type: 'spki',
      format: 'der',
    })
    expect(Buffer.compare(pub, cert.publicKey.export({ type: 'spki', format: 'der' }))).toBe(0)
  })

  it('never shows a secret in a log line', async () => {
    const s = await loadOrCreateStackSecrets(tempDataDir())
    const lines: string[] = []
    const log = createLogger('test', { level: 'debug', sink: (l) => lines.push(JSON.stringify(l)) })
    for (const p of allPasswords(s)) {
      log.info(`connecting with ${p}`, {
        detail: `url http://lnd:${p}@bitcoind`,
        err: new Error(p),
      })
    }
    log.info('tls key', { pem: s.lndTls.keyPem })
    const out = lines.join('\n')
    expect(lines.length).toBe(allPasswords(s).length + 1)
    for (const p of allPasswords(s)) expect(out).not.toContain(p)
    for (const line of s.lndTls.keyPem.split('\n').filter((l) => l.length >= 16)) {
      expect(out).not.toContain(line)
    }
    expect(out).toContain('‹redacted›')
  })

  it('refuses a damaged file instead of making new secrets', async () => {
    const dataDir = tempDataDir()
    await loadOrCreateStackSecrets(dataDir)
    const path = stackSecretsPath(dataDir)
    writeFileSync(path, '{"version":1,"bitcoindRpc":', { mode: 0o600 })
    await expect(loadOrCreateStackSecrets(dataDir)).rejects.toMatchObject({
      code: 'secrets.damaged',
    })
    expect(readFileSync(path, 'utf8')).toBe('{"version":1,"bitcoindRpc":') // left for restore
  })

  it('makes a loosened file private again on load', async () => {
    if (process.platform === 'win32') return
    const dataDir = tempDataDir()
    const first = await loadOrCreateStackSecrets(dataDir)
    chmodSync(stackSecretsPath(dataDir), 0o644)
    expect(await loadOrCreateStackSecrets(dataDir)).toEqual(first)
    expect(statSync(stackSecretsPath(dataDir)).mode & 0o777).toBe(0o600)
  })

  it('two concurrent first runs end with one set of secrets', async () => {
    const dataDir = tempDataDir()
    const [a, b] = await Promise.all([
      loadOrCreateStackSecrets(dataDir),
      loadOrCreateStackSecrets(dataDir),
    ])
    const onDisk = await loadOrCreateStackSecrets(dataDir)
    expect(a).toEqual(onDisk)
    expect(b).toEqual(onDisk)
  })
})
