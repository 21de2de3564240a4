// The mint as a container image built from this repository (docker/mint/build.sh: esbuild
// bundle + the pinned Node binary and its libraries, FROM scratch; no registry), run with the
// stack's environment contract and used end to end by cashu-ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { resolve } from 'node:path'
import { mintProofs, wallet } from './mint-harness'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')
const TAG = 'test-' + process.pid
let containerId = ''
let url = ''

beforeAll(async () => {
  await run('bash', [resolve(ROOT, 'docker/mint/build.sh'), TAG], { cwd: ROOT, timeout: 240_000 })
  const { stdout } = await run('docker', [
    'run',
    '-d',
    '--rm',
    '--label',
    'io.flashbox.test=1',
    '--user',
    '1000:1000',
    '-e',
    'FLASHBOX_MINT_NETWORK=regtest',
    '-e',
    'FLASHBOX_MINT_LIGHTNING=fake',
    '-p',
    '127.0.0.1::3338',
    `flashbox/mint:${TAG}`,
  ])
  containerId = stdout.trim()
  const port = (await run('docker', ['port', containerId, '3338/tcp'])).stdout
    .trim()
    .split(':')
    .pop()
  url = `http://127.0.0.1:${port}`
  const end = Date.now() + 60_000
  for (;;) {
    try {
      if ((await fetch(`${url}/v1/info`)).ok) break
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error('the mint container did not answer')
    await new Promise((r) => setTimeout(r, 250))
  }
})

afterAll(async () => {
  if (containerId) await run('docker', ['rm', '-f', containerId]).catch(() => undefined)
  await run('docker', ['rmi', '-f', `flashbox/mint:${TAG}`]).catch(() => undefined)
})

describe('mint container image', () => {
  it('runs as a non-root user and does not contain the TEST-ONLY fault-injection hook', async () => {
    const { stdout } = await run('docker', [
      'image',
      'inspect',
      '--format',
      '{{.Config.User}}',
      `flashbox/mint:${TAG}`,
    ])
    const user = stdout.trim()
    expect(user).not.toBe('')
    expect(user.split(':')[0]).not.toMatch(/^(0|root)$/)
    // Read the bundle with the image's own node (there is no shell or grep in it).
    const { stdout: found } = await run('docker', [
      'run',
      '--rm',
      '--label',
      'io.flashbox.test=1',
      '--entrypoint',
      '/usr/local/bin/node',
      `flashbox/mint:${TAG}`,
      '-e',
      `const s = require('fs').readFileSync('/app/mint.mjs', 'utf8');
       console.log(JSON.stringify({ size: s.length, hook: ['MINT_CRASH_AT', 'crashPoint', 'FLASHBOX_FAULT_INJECTION'].filter((w) => s.includes(w)) }))`,
    ])
    const bundle = JSON.parse(found) as { size: number; hook: string[] }
    expect(bundle.size).toBeGreaterThan(100_000)
    expect(bundle.hook).toEqual([])
  })

  it('is built FROM scratch and passes the stack health probe (node fetch inside)', async () => {
    // Nothing but node and its libraries: there is no shell in the image.
    await expect(
      run('docker', [
        'run',
        '--rm',
        '--label',
        'io.flashbox.test=1',
        '--entrypoint',
        '/bin/sh',
        `flashbox/mint:${TAG}`,
        '-c',
        'true',
      ]),
    ).rejects.toBeTruthy()
    await run('docker', [
      'exec',
      containerId,
      'node',
      '-e',
      'fetch("http://127.0.0.1:3338/v1/info").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))',
    ])
  })

  it('mints and swaps with cashu-ts', async () => {
    const w = await wallet(url)
    const proofs = await mintProofs(w, 64)
    const { send, keep } = await w.send(10, proofs)
    expect(send.reduce((a, p) => a + Number(p.amount), 0)).toBe(10)
    expect(keep.length).toBeGreaterThan(0)
  })

  it('behind the front door (MINT_TRUSTED_PROXIES=gateway): limits each forwarded client, not the gateway', async () => {
    // The front door reaches the container through the published port, so the mint sees
    // Docker's gateway; it believes X-Forwarded-For from there only (the relay's twin is in
    // relay-container.test.ts).
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--rm',
      '--label',
      'io.flashbox.test=1',
      '--user',
      '1000:1000',
      '-e',
      'FLASHBOX_MINT_NETWORK=regtest',
      '-e',
      'FLASHBOX_MINT_LIGHTNING=fake',
      '-e',
      'MINT_TRUSTED_PROXIES=gateway',
      '-e',
      `MINT_CONFIG_JSON=${JSON.stringify({ rateLimit: { windowMs: 120_000, perIp: 3 } })}`,
      '-p',
      '127.0.0.1::3338',
      `flashbox/mint:${TAG}`,
    ])
    const proxied = stdout.trim()
    try {
      const port = (await run('docker', ['port', proxied, '3338/tcp'])).stdout
        .trim()
        .split(':')
        .pop()
      const info = (forwardedFor?: string) =>
        fetch(`http://127.0.0.1:${port}/v1/info`, {
          headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
        }).then((r) => r.status)
      const end = Date.now() + 60_000
      // Waiting for it to answer uses the gateway's own bucket, not the customers'.
      for (;;) {
        const up = await info().catch(() => 0)
        if (up === 200 || up === 429) break
        if (Date.now() > end) throw new Error('the proxied mint container did not answer')
        await new Promise((r) => setTimeout(r, 250))
      }
      // One customer gets the per-client limit of 3 requests …
      expect([
        await info('203.0.113.7'),
        await info('203.0.113.7'),
        await info('203.0.113.7'),
        await info('203.0.113.7'),
      ]).toEqual([200, 200, 200, 429])
      // … a claimed address left of the real one changes nothing (the right-most hop counts) …
      expect(await info('198.51.100.1, 203.0.113.7')).toBe(429)
      // … and another customer is not counted with the first.
      expect(await info('203.0.113.8')).toBe(200)
    } finally {
      await run('docker', ['rm', '-f', proxied]).catch(() => undefined)
    }
  })
})
