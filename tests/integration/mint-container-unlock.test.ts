// The mint as a container (ownServices 'container') with its seed sealed under the box key, on the
// real Docker Engine: the supervisor runs the production catalog's mint spec (image built from this
// repository, host ports left out). While the box is locked the mint is not started ("Waiting for
// unlock", no container, no crash loop); once the owner password is entered the supervisor hands
// the container its seed key through a tmpfs, and the key is then nowhere: not in the container's
// tmpfs, not in `docker inspect`, not in the data folder.
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderStack } from '../../src/core/stack/render'
import type { ContainerSpec, PinnedImage, StackPlan } from '../../src/core/stack/spec'
import { stackPaths } from '../../src/core/stack/paths'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import { BoxKey } from '../../src/core/secrets/box-key'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import { loadOrCreateSeed } from '../../services/mint/src/seed'
import {
  cleanupProject,
  inspect,
  makeSupervisor,
  projectContainers,
  type Recorded,
} from '../images/harness'
import { findInClear } from './secrets-scan'

const ROOT = resolve(import.meta.dirname, '../..')
const TAG = `unlock-${process.pid}`
const project = `fbt-unlock-${process.pid}`
const dataDir = mkdtempSync(join(tmpdir(), 'flashbox-mint-unlock-'))
const stackDir = join(dataDir, 'stack')
const PASSWORD = 'correct horse battery staple'
const asRoot = process.getuid?.() === 0
let sup: Supervisor | undefined
let events: Recorded[] = []
let box: BoxKey
let seedKeyHex = ''
let settlementKeyHex = ''
let seedHex = ''
let sealedSeedBefore = ''

function build(): PinnedImage {
  execFileSync('bash', [join(ROOT, 'docker/mint/build.sh'), TAG], {
    cwd: ROOT,
    stdio: 'pipe',
    timeout: 300_000,
  })
  const id = execFileSync('docker', [
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    `flashbox/mint:${TAG}`,
  ])
    .toString()
    .trim() as `sha256:${string}`
  return { repository: 'flashbox/mint', tag: TAG, digest: id, builtHere: true }
}

const mintState = () => sup!.serviceStatuses().find((s) => s.id === 'mint')

beforeAll(async () => {
  const image = build()
  // The owner set a password and the mint ran inside the app once: its seed is sealed under the
  // key derived from the box key, exactly as the engine passes it (mint-module.ts).
  const owner = new BoxKey(dataDir)
  await owner.enterPassword(PASSWORD)
  seedKeyHex = owner.subkey('mint.seed').toString('hex')
  settlementKeyHex = owner.subkey('mint.internal-settlement').toString('hex')
  const mintDir = stackPaths(stackDir).mint.dir
  mkdirSync(mintDir, { recursive: true, mode: 0o700 })
  seedHex = Buffer.from(loadOrCreateSeed(join(mintDir, 'secrets'), seedKeyHex)).toString('hex')
  sealedSeedBefore = readFileSync(join(mintDir, 'secrets', 'seed.enc'), 'utf8')
  owner.lock()
  expect(existsSync(join(mintDir, 'secrets', 'seed.key'))).toBe(false)

  const secrets = await loadOrCreateStackSecrets(stackDir)
  const full = renderStack(
    {
      network: 'regtest',
      dataDir: stackDir,
      prune: { enabled: false },
      dbcache: 'auto',
      txindex: true,
      services: { electrs: false, lnd: false, relay: false, mint: true, btcpay: false },
      ownServices: 'container',
    },
    { memoryBytes: 8 * 1024 ** 3, cpus: 2 },
    secrets,
    { project, images: { mint: image }, ...(asRoot ? { runAs: { uid: 1000, gid: 1000 } } : {}) },
  )
  const noHostPorts = (s: ContainerSpec): ContainerSpec => ({
    ...s,
    ports: s.ports.map((p) => ({
      container: p.container,
      protocol: p.protocol,
      purpose: p.purpose,
    })),
  })
  const plan: StackPlan = {
    ...full,
    services: full.services.filter((s) => s.id === 'mint').map(noHostPorts),
  }
  if (asRoot) {
    for (const m of plan.services[0]!.mounts)
      if (m.kind === 'bind') {
        mkdirSync(m.source, { recursive: true, mode: 0o700 })
        execFileSync('chown', ['-R', '1000:1000', m.source])
      }
    chownSync(mintDir, 1000, 1000)
  }
  // A fresh engine after a restart: the box key file exists, the key is not in memory.
  box = new BoxKey(dataDir)
  expect(box.state).toBe('locked')
  ;({ sup, events } = makeSupervisor(dataDir, { keyring: box }))
  await sup.open()
  sup.setPlan(plan)
  await sup.startStack()
}, 600_000)

afterAll(async () => {
  await sup?.close()
  cleanupProject(project, dataDir)
  try {
    execFileSync('docker', ['rmi', '-f', `flashbox/mint:${TAG}`], { stdio: 'pipe' })
  } catch {
    // already gone
  }
  rmSync(dataDir, { recursive: true, force: true })
})

describe('mint container with its seed under the box key (real Docker Engine)', () => {
  it('waits for unlock while the box is locked: no container, no crash loop', async () => {
    await sup!.waitFor((ss) => ss.find((s) => s.id === 'mint')?.state === 'waiting', 30_000)
    // Several passes later it still waits, and nothing was ever started.
    await new Promise((r) => setTimeout(r, 3_000))
    await sup!.reconcileNow()
    expect(mintState()).toMatchObject({ state: 'waiting', waitingFor: ['unlock'] })
    expect(projectContainers(project)).toEqual([])
    const states = events
      .filter((e) => e.event.type === 'service' && e.event.service.id === 'mint')
      .map((e) => (e.event.type === 'service' ? e.event.service.state : ''))
    expect(states).not.toContain('crash-loop')
    expect(states).not.toContain('restarting')
    expect(states).not.toContain('failed')
  })

  it('starts once unlocked with the same seed, and the key is left nowhere', async () => {
    await box.enterPassword(PASSWORD)
    await sup!.waitFor((ss) => ss.find((s) => s.id === 'mint')?.state === 'healthy', 120_000)
    const [id] = projectContainers(project)
    expect(id).toBeDefined()
    // The mint serves keysets derived from the seed sealed before (it opened it, not a new one).
    const info = execFileSync('docker', [
      'exec',
      id!,
      '/usr/local/bin/node',
      '-e',
      `fetch('http://127.0.0.1:3338/v1/keysets').then((r) => r.json()).then((j) => {
         const fs = require('fs')
         console.log(JSON.stringify({ keysets: j.keysets.length, keys: fs.readdirSync('/run/flashbox-keys') }))
       })`,
    ]).toString()
    expect(JSON.parse(info)).toEqual({ keysets: expect.any(Number), keys: [] })
    expect(JSON.parse(info).keysets).toBeGreaterThan(0)
    const secretsDir = join(stackPaths(stackDir).mint.dir, 'secrets')
    const seed = JSON.parse(readFileSync(join(secretsDir, 'seed.enc'), 'utf8'))
    expect(seed.kdf).toBe('scrypt')
    // Opened as it was, not re-made: a new seed would orphan every token of the old one.
    expect(readFileSync(join(secretsDir, 'seed.enc'), 'utf8')).toBe(sealedSeedBefore)
    expect(existsSync(join(secretsDir, 'seed.key'))).toBe(false)
    // Not an environment variable or anything else docker inspect shows.
    const inspected = JSON.stringify(inspect(id!))
    expect(inspected).not.toContain(seedKeyHex)
    expect(inspected).not.toContain(settlementKeyHex)
    // The settlement hook's name is this computer's address on the stack network (its gateway).
    const gateway = execFileSync('docker', [
      'network',
      'inspect',
      '-f',
      '{{(index .IPAM.Config 0).Gateway}}',
      `${project}-net`,
    ])
      .toString()
      .trim()
    const hosts = execFileSync('docker', [
      'exec',
      id!,
      '/usr/local/bin/node',
      '-e',
      "process.stdout.write(require('fs').readFileSync('/etc/hosts','utf8'))",
    ]).toString()
    expect(hosts).toMatch(new RegExp(`^${gateway.replace(/\./g, '\\.')}\\s+flashbox-host$`, 'm'))
    expect(inspected).toContain(
      'MINT_INTERNAL_SETTLEMENT_URL=http://flashbox-host:23011/internal/settlement/v1',
    )
    expect(inspected).toContain('/run/flashbox-keys')
    const tmpfs = (inspect(id!) as { HostConfig: { Tmpfs: Record<string, string> } }).HostConfig
      .Tmpfs['/run/flashbox-keys']
    expect(tmpfs).toMatch(/mode=0700/)
    // Nor anywhere in the data folder, in any encoding, nor the seed it opens.
    expect(
      findInClear(dataDir, {
        'mint seed key': Buffer.from(seedKeyHex, 'hex'),
        'internal settlement key': Buffer.from(settlementKeyHex, 'hex'),
        'mint seed': Buffer.from(seedHex, 'hex'),
      }),
    ).toEqual([])
  })

  it('gets its key again when it is restarted after a crash', async () => {
    const [id] = projectContainers(project)
    execFileSync('docker', ['kill', id!], { stdio: 'pipe' })
    await sup!.waitFor((ss) => ss.find((s) => s.id === 'mint')?.state !== 'healthy', 30_000)
    await sup!.waitFor((ss) => ss.find((s) => s.id === 'mint')?.state === 'healthy', 120_000)
    expect(mintState()?.restarts).toBeGreaterThanOrEqual(1)
  })
})
