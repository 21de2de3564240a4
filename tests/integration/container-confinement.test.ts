// The stack's containers as the production catalog confines them (src/core/stack/confinement.ts),
// on the real Docker Engine: the relay and mint images built from this repository, started by the
// supervisor from the catalog's own specs (host ports left out, so parallel runs do not collide).
// `docker inspect` must show every capability dropped, no-new-privileges, the memory and PID
// limits and a read-only root filesystem — and the services must still become healthy under them.
import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderStack } from '../../src/core/stack/render'
import type { ContainerSpec, PinnedImage, StackPlan } from '../../src/core/stack/spec'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import { cleanupProject, inspect, makeSupervisor } from '../images/harness'

const ROOT = resolve(import.meta.dirname, '../..')
const TAG = `confine-${process.pid}`
const project = `fbt-confine-${process.pid}`
const dataDir = mkdtempSync(join(tmpdir(), 'flashbox-confine-'))
let sup: Supervisor | undefined
let plan: StackPlan

function build(name: 'relay' | 'mint'): PinnedImage {
  execFileSync('bash', [join(ROOT, `docker/${name}/build.sh`), TAG], {
    cwd: ROOT,
    stdio: 'pipe',
    timeout: 300_000,
  })
  const id = execFileSync('docker', [
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    `flashbox/${name}:${TAG}`,
  ])
    .toString()
    .trim() as `sha256:${string}`
  return { repository: `flashbox/${name}`, tag: TAG, digest: id, builtHere: true }
}

interface Inspected {
  Config: { User: string }
  HostConfig: {
    CapDrop: string[] | null
    CapAdd: string[] | null
    SecurityOpt: string[] | null
    Memory: number
    MemorySwap: number
    PidsLimit: number | null
    ReadonlyRootfs: boolean
    Tmpfs?: Record<string, string>
  }
}

const asRoot = process.getuid?.() === 0

beforeAll(async () => {
  const images = { relay: build('relay'), mint: build('mint') }
  const secrets = await loadOrCreateStackSecrets(join(dataDir, 'stack'))
  const full = renderStack(
    {
      network: 'regtest',
      dataDir: join(dataDir, 'stack'),
      prune: { enabled: false },
      dbcache: 'auto',
      txindex: true,
      services: { electrs: false, lnd: false, relay: true, mint: true, btcpay: false },
      ownServices: 'container',
    },
    { memoryBytes: 8 * 1024 ** 3, cpus: 2 },
    secrets,
    // The containers run as the data folder's owner; when the tests run as root (CI), as an
    // ordinary user that owns the service folders instead, as on a real install.
    { project, images, ...(asRoot ? { runAs: { uid: 1000, gid: 1000 } } : {}) },
  )
  const ours = (s: ContainerSpec): ContainerSpec => ({
    ...s,
    ports: s.ports.map((p) => ({
      container: p.container,
      protocol: p.protocol,
      purpose: p.purpose,
    })),
  })
  plan = {
    ...full,
    services: full.services.filter((s) => s.id === 'relay' || s.id === 'mint').map(ours),
  }
  if (asRoot) {
    for (const s of plan.services)
      for (const m of s.mounts)
        if (m.kind === 'bind') {
          mkdirSync(m.source, { recursive: true, mode: 0o700 })
          chownSync(m.source, 1000, 1000)
        }
  }
  ;({ sup } = makeSupervisor(dataDir))
  await sup.open()
  sup.setPlan(plan)
  await sup.startStack()
  await sup.waitFor(
    (ss) => ['relay', 'mint'].every((id) => ss.find((s) => s.id === id)?.state === 'healthy'),
    120_000,
  )
}, 600_000)

afterAll(async () => {
  await sup?.close()
  cleanupProject(project, dataDir)
  for (const name of ['relay', 'mint'])
    try {
      execFileSync('docker', ['rmi', '-f', `flashbox/${name}:${TAG}`], { stdio: 'pipe' })
    } catch {
      // already gone
    }
  rmSync(dataDir, { recursive: true, force: true })
})

describe('container confinement (production catalog, real Docker Engine)', () => {
  it.each(['relay', 'mint'])(
    '%s runs healthy with all capabilities dropped, no-new-privileges, limits and a read-only root',
    (id) => {
      const spec = plan.services.find((s) => s.id === id)!
      const containerId = sup!.serviceStatuses().find((s) => s.id === id)!.containerId!
      const c = inspect<Inspected>(containerId)
      expect(c.HostConfig.CapDrop).toEqual(['ALL'])
      expect(c.HostConfig.CapAdd ?? []).toEqual([])
      expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true')
      expect(c.HostConfig.Memory).toBe(spec.confinement!.memoryBytes)
      expect(c.HostConfig.Memory).toBeGreaterThan(0)
      expect(c.HostConfig.MemorySwap).toBe(c.HostConfig.Memory)
      expect(c.HostConfig.PidsLimit).toBe(spec.confinement!.pidsLimit)
      expect(c.HostConfig.ReadonlyRootfs).toBe(true)
      // Scratch space, plus (the mint) the RAM-only folder its box-derived seed key is handed in.
      expect(Object.keys(c.HostConfig.Tmpfs ?? {}).sort()).toEqual(
        ['/tmp', ...(spec.unlockKeys ? [spec.unlockKeys.dir] : [])].sort(),
      )
      expect(c.Config.User.split(':')[0]).not.toMatch(/^(|0|root)$/)
      // The root filesystem really is read-only; its data folder is not.
      const tryWrite = (path: string) => {
        try {
          execFileSync(
            'docker',
            [
              'exec',
              containerId,
              'node',
              '-e',
              `require('fs').writeFileSync(${JSON.stringify(path)}, 'x')`,
            ],
            { stdio: 'pipe' },
          )
          return 'written'
        } catch (err) {
          return String((err as { stderr?: Buffer }).stderr ?? err)
        }
      }
      expect(tryWrite('/app/intruder.js')).toMatch(/EROFS/)
      expect(tryWrite('/data/probe.txt')).toBe('written')
    },
  )
})
