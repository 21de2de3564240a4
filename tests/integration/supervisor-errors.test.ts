// Every way starting can fail says what happened and what to do, against the real Docker Engine:
// Docker unreachable (DOCKER_HOST to a missing socket), a host port held by another program, a
// read-only data folder, an image missing while offline, an image whose digest differs.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectDocker } from '../../src/core/docker/connect'
import { FlashError } from '../../src/core/errors'
import type { ServiceStatus } from '../../src/shared/api/stack'
import type { ContainerSpec } from '../../src/core/stack/spec'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import type { BuiltImage } from '../images/build'
import { cleanupProject, makeSupervisor, projectContainers, tempDataDir } from '../images/harness'
import { buildLifecycleImage, testPlan, testService } from '../images/test-catalog'

const failedWith = (code: string) => (ss: ServiceStatus[]) =>
  ss[0]?.state === 'failed' && ss[0].problem?.code === code

describe('supervisor: clear errors', () => {
  const project = `fbt-err-${process.pid}`
  const dataDir = tempDataDir('err')
  let image: BuiltImage
  const sups: Supervisor[] = []
  let portHolder: Server | undefined
  let roMount: string | undefined

  beforeAll(() => {
    image = buildLifecycleImage()
  })

  afterAll(async () => {
    for (const s of sups) await s.close()
    portHolder?.close()
    if (roMount) spawnSync('umount', [roMount])
    cleanupProject(project, dataDir)
  })

  async function startOne(spec: ContainerSpec, extra = {}) {
    cleanupProject(project)
    const { sup } = makeSupervisor(dataDir, extra)
    sups.push(sup)
    await sup.open()
    sup.setPlan(testPlan(project, dataDir, [spec]))
    return sup
  }

  it('Docker unreachable: DOCKER_HOST pointing to a missing socket', async () => {
    const status = await detectDocker({
      env: { ...process.env, DOCKER_HOST: 'unix:///tmp/flashbox-no-such-docker.sock' },
      platform: 'linux',
    })
    expect(status.state).toBe('not-running')
    expect(status.host).toBe('unix:///tmp/flashbox-no-such-docker.sock')
    expect(status.problem?.code).toBe('docker.not_running')
    expect(status.problem?.message).toContain('/tmp/flashbox-no-such-docker.sock')
    expect(status.problem?.hint).toContain('sudo systemctl start docker')

    // The supervisor starts anyway, says so, and refuses to start the stack with that reason.
    const { sup } = makeSupervisor(dataDir, {
      connect: async () => {
        const { detectDockerEngine } = await import('../../src/core/docker/connect')
        return detectDockerEngine({
          env: { ...process.env, DOCKER_HOST: 'unix:///tmp/flashbox-no-such-docker.sock' },
        })
      },
      reconnectBaseMs: 60_000,
    })
    sups.push(sup)
    expect((await sup.open()).state).toBe('not-running')
    sup.setPlan(testPlan(project, dataDir, [testService(image, dataDir, { id: 'bitcoind' })]))
    await expect(sup.startStack()).rejects.toMatchObject({ code: 'docker.not_running' })
    expect(sup.alertList().find((a) => a.id === 'docker')?.hint).toContain('systemctl')
  })

  it('a host port already taken: which port, which service, what to do', async () => {
    portHolder = createServer()
    await new Promise<void>((r) => portHolder!.listen(0, '127.0.0.1', r))
    const port = (portHolder.address() as { port: number }).port
    const sup = await startOne(testService(image, dataDir, { id: 'lnd', hostPort: port }))
    await sup.startStack()
    await sup.waitFor(failedWith('stack.port_taken'), 30_000)
    const p = sup.serviceStatuses()[0]!.problem!
    expect(p.message).toContain(`Port ${port}`)
    expect(p.message).toContain('lnd test HTTP')
    expect(p.message).toContain('Test lnd')
    expect(p.hint).toContain(`ss -ltnp 'sport = :${port}'`)
    expect(sup.alertList().find((a) => a.id === 'failed:lnd')?.severity).toBe('critical')
    expect(projectContainers(project)).toHaveLength(0)

    // Once the port is free again, the user's Start works.
    await new Promise<void>((r) => portHolder!.close(() => r()))
    portHolder = undefined
    await sup.startService('lnd')
    await sup.waitFor((ss) => ss[0]?.state === 'healthy', 60_000)
    await sup.stopStack()
  })

  it('a read-only data folder', async () => {
    cleanupProject(project)
    const ro = join(dataDir, 'readonly')
    mkdirSync(ro, { recursive: true })
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro])
    // Without mount rights, a folder inside /proc is just as unwritable (even for root).
    const roDir = mounted.status === 0 ? ro : '/proc/flashbox-readonly'
    if (mounted.status === 0) roMount = ro
    const { sup } = makeSupervisor(roDir)
    sups.push(sup)
    await sup.open()
    sup.setPlan(testPlan(project, roDir, [testService(image, roDir, { id: 'bitcoind' })]))
    const err = await sup.startStack().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FlashError)
    expect((err as FlashError).code).toBe('stack.datadir_not_writable')
    expect((err as FlashError).message).toContain(roDir)
    expect((err as FlashError).hint).toMatch(/read-write/)
    expect(projectContainers(project)).toHaveLength(0)
  })

  it('an image that is missing while offline', async () => {
    const spec = testService(image, dataDir, { id: 'electrs' })
    const missing: ContainerSpec = {
      ...spec,
      image: {
        repository: '127.0.0.1:9/flashbox-test/not-here',
        tag: 'v1',
        digest: `sha256:${'ab'.repeat(32)}`,
      },
    }
    const sup = await startOne(missing)
    await sup.startStack()
    await sup.waitFor(failedWith('stack.image_missing_offline'), 60_000)
    const p = sup.serviceStatuses()[0]!.problem!
    expect(p.message).toContain('127.0.0.1:9/flashbox-test/not-here:v1')
    expect(p.hint).toMatch(/offline image bundle/)
    await expect(sup.pullImages()).rejects.toMatchObject({ code: 'stack.image_missing_offline' })

    // Flagged offline, it does not even try the network.
    const offline = await startOne(missing, { offline: true })
    await expect(offline.pullImages()).rejects.toMatchObject({
      code: 'stack.image_missing_offline',
      message: expect.stringContaining('offline'),
    })
    // An image built here cannot be downloaded at all.
    const built = await startOne({
      ...spec,
      image: { ...spec.image, tag: 'gone', digest: `sha256:${'cd'.repeat(32)}` },
    })
    await expect(built.pullImages()).rejects.toMatchObject({ code: 'stack.image_missing' })
    expect(projectContainers(project)).toHaveLength(0)
  })

  it('refuses an image whose digest differs from the catalog', async () => {
    const spec = testService(image, dataDir, { id: 'mint' })
    // The tag is the real lifecycle image, but the catalog pins another image ID.
    const wrong: ContainerSpec = {
      ...spec,
      image: { ...spec.image, digest: `sha256:${'ef'.repeat(32)}` },
    }
    const sup = await startOne(wrong)
    await sup.startStack()
    await sup.waitFor(failedWith('stack.image_digest_mismatch'), 30_000)
    const p = sup.serviceStatuses()[0]!.problem!
    expect(p.message).toContain(image.id.slice(0, 19))
    expect(p.message).toMatch(/refuses to run it/)
    expect(projectContainers(project)).toHaveLength(0)
  })
})
