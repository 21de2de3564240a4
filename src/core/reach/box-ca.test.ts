// The box CA: its key sealed under the box key (nothing readable at rest), the same CA across
// restarts, and a leaf for <name>.local and the LAN address that a TLS client trusting only the
// CA accepts — by name and by address — while a client without the CA refuses it.
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BoxKey } from '../secrets/box-key'
import {
  caKeyPath,
  ensureLanCertificate,
  lanCertificateCurrent,
  lanCertificateFiles,
  loadOrCreateBoxCa,
} from './box-ca'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'flashbox-ca-'))
  dirs.push(d)
  return d
}

async function unlockedBox(dir: string): Promise<BoxKey> {
  const box = new BoxKey(dir)
  await box.enterPassword('correct horse battery')
  return box
}

function get(
  port: number,
  opts: { servername?: string; ca?: string },
): Promise<{ ok: true; body: string } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ...(opts.servername
          ? { servername: opts.servername, headers: { host: opts.servername } }
          : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
        agent: false,
      },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ ok: true, body }))
      },
    )
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? '' }))
    req.end()
  })
}

describe('box CA', () => {
  it('keeps its key sealed under the box key and is the same after a restart', async () => {
    const engineDir = tmp()
    const box = await unlockedBox(engineDir)
    const ca = await loadOrCreateBoxCa(box, engineDir, 'shop')
    const file = readFileSync(caKeyPath(engineDir), 'utf8')
    expect(file).not.toContain('PRIVATE KEY')
    expect(file).not.toContain(ca.certPem.split('\n')[1]) // even the certificate is sealed
    expect(statSync(caKeyPath(engineDir)).mode & 0o777).toBe(0o600)
    const again = await loadOrCreateBoxCa(await unlockedBox(engineDir), engineDir, 'shop')
    expect(again.fingerprint).toBe(ca.fingerprint)
    const c = new X509Certificate(ca.certPem)
    expect(c.ca).toBe(true)
    // Locked: no CA (and no plain error hidden as a crash).
    await expect(loadOrCreateBoxCa(new BoxKey(engineDir), engineDir, 'shop')).rejects.toMatchObject(
      { code: 'box.locked' },
    )
  })

  it('issues a leaf for <name>.local and the LAN address that only the CA makes trusted', async () => {
    const engineDir = tmp()
    const stackDir = tmp()
    const box = await unlockedBox(engineDir)
    const want = { name: 'shop', address: '127.0.0.1' }
    const first = await ensureLanCertificate(box, engineDir, stackDir, want)
    expect(first.renewed).toBe(true)
    const files = lanCertificateFiles(stackDir)
    expect(statSync(files.key).mode & 0o777).toBe(0o600)
    expect(lanCertificateCurrent(files, want)).toBe(true)
    // Nothing changed: the same files; a new address: a new leaf from the same CA.
    expect((await ensureLanCertificate(box, engineDir, stackDir, want)).renewed).toBe(false)
    expect(lanCertificateCurrent(files, { ...want, address: '10.0.0.7' })).toBe(false)

    const leaf = new X509Certificate(readFileSync(files.cert, 'utf8'))
    const ca = readFileSync(files.caCert, 'utf8')
    expect(leaf.checkIssued(new X509Certificate(ca))).toBe(true)
    expect(leaf.subjectAltName).toContain('DNS:shop.local')
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1')
    expect(leaf.checkHost('shop.local')).toBe('shop.local')
    expect(leaf.ca).toBe(false)

    const server = createServer(
      { cert: readFileSync(files.cert), key: readFileSync(files.key) },
      (_req, res) => res.end('hello from the box'),
    )
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    try {
      expect(await get(port, { servername: 'shop.local', ca })).toEqual({
        ok: true,
        body: 'hello from the box',
      })
      expect(await get(port, { ca })).toEqual({ ok: true, body: 'hello from the box' }) // by IP
      expect(await get(port, { servername: 'other.local', ca })).toMatchObject({
        ok: false,
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      })
      const untrusted = await get(port, { servername: 'shop.local' })
      expect(untrusted.ok).toBe(false)
    } finally {
      server.close()
    }
  })
})
