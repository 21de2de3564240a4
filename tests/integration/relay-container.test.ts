// The relay's container image, built from this repository (docker/relay/build.sh: esbuild bundle
// on a FROM-scratch Node base), run on a real Docker Engine: it serves NIP-11 and NIP-01 over
// its published port, verifies with WebAssembly, and keeps its events on the /data volume
// across a container restart.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { newKey, RawClient, sign } from './relay-harness'

const root = resolve(__dirname, '../..')
const name = `flashbox-relay-test-${process.pid}`
const dataDir = mkdtempSync(join(tmpdir(), 'flashbox-relay-container-'))
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim()

async function waitForUrl(container = name): Promise<string> {
  const port = docker('port', container, '7777/tcp').split('\n')[0]!.split(':').pop()
  const url = `ws://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      const res = await fetch(url.replace('ws', 'http'), {
        headers: { Accept: 'application/nostr+json' },
      })
      if (res.ok) return url
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`relay container did not answer: ${docker('logs', container)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

beforeAll(() => {
  execFileSync('bash', [join(root, 'docker/relay/build.sh'), 'test'], { cwd: root, stdio: 'pipe' })
  // The container runs as uid 1000; the bind-mounted folder must be writable for it.
  chmodSync(dataDir, 0o777)
})

afterAll(() => {
  spawnSync('docker', ['rm', '-f', name])
  rmSync(dataDir, { recursive: true, force: true })
})

describe('relay container image', () => {
  it('serves NIP-11 and NIP-01 and keeps events across a restart', async () => {
    docker(
      'run',
      '-d',
      '--name',
      name,
      '--label',
      'io.flashbox.test=1',
      '-p',
      '127.0.0.1::7777',
      '-v',
      `${dataDir}:/data`,
      'flashbox/relay:test',
    )
    let url = await waitForUrl()
    const info = (await (
      await fetch(url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } })
    ).json()) as { supported_nips: number[]; self: string }
    expect(info.supported_nips).toContain(1)
    expect(docker('logs', name)).toContain('"verifier":"wasm"')
    // Signatures are checked on worker threads (verify-worker.mjs ships beside the bundle).
    if (availableParallelism() > 1) expect(docker('logs', name)).toMatch(/"verifyThreads":[1-9]/)

    const k = newKey()
    const ev = sign(k, { kind: 1, content: 'from the container' })
    let c = await RawClient.open(url)
    expect(await c.publish(ev)).toEqual([true, ''])
    expect(await c.publish({ ...ev, content: 'forged' })).toEqual([
      false,
      expect.stringMatching(/^invalid: /),
    ])
    // A new event with a bad signature goes through the signature threads and is refused.
    const other = sign(k, { kind: 1, content: 'another' })
    const badSig = other.sig.slice(0, -2) + (other.sig.endsWith('00') ? '01' : '00')
    expect(await c.publish({ ...other, sig: badSig })).toEqual([
      false,
      'invalid: bad event id or signature',
    ])
    // NIP-42 through the port mapping: the relay accepts the URL the client dialled.
    expect(await c.auth(k, url)).toEqual([true, ''])
    const mine = sign(k, { kind: 1, tags: [['-']], content: 'protected' })
    expect(await c.publish(mine)).toEqual([true, ''])
    c.close()

    docker('restart', '-t', '10', name)
    url = await waitForUrl()
    c = await RawClient.open(url)
    expect((await c.query({ authors: [k.pk] })).map((e) => e.id).sort()).toEqual(
      [ev.id, mine.id].sort(),
    )
    c.close()
    const again = (await (
      await fetch(url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } })
    ).json()) as { self: string }
    // The relay key was generated once and kept on the volume.
    expect(again.self).toBe(info.self)
    expect(docker('inspect', '--format', '{{.State.Health.Status}}', name)).toMatch(
      /starting|healthy/,
    )
  })

  it('behind the front door (RELAY_TRUSTED_PROXIES=gateway): limits each forwarded client, not the gateway', async () => {
    // The front door reaches the container through the published port, so the relay sees
    // Docker's gateway; it believes X-Forwarded-For from there only.
    const limited = `${name}-proxied`
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-relay-proxied-'))
    chmodSync(dir, 0o777)
    writeFileSync(
      join(dir, 'relay.json'),
      JSON.stringify({ policies: { limits: { maxConnectionsPerIp: 1 } } }),
    )
    try {
      docker(
        'run',
        '-d',
        '--name',
        limited,
        '--label',
        'io.flashbox.test=1',
        '-p',
        '127.0.0.1::7777',
        '-v',
        `${dir}:/data`,
        '-e',
        'RELAY_CONFIG=/data/relay.json',
        '-e',
        'RELAY_TRUSTED_PROXIES=gateway',
        'flashbox/relay:test',
      )
      const url = await waitForUrl(limited)
      const open = (ip: string) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers: { 'x-forwarded-for': ip } })
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
          ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)))
        })
      const a = await open('203.0.113.7')
      await expect(open('203.0.113.7')).rejects.toThrow(/HTTP (429|403)/)
      const b = await open('203.0.113.8') // another customer is not counted with the first
      a.close()
      b.close()
    } finally {
      spawnSync('docker', ['rm', '-f', limited])
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
