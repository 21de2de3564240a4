// With ownServices 'container' the app builds its own relay image through the engine's Docker
// API, from scratch, with progress: the Linux Node build for the Docker daemon's architecture
// (from the npm registry, checked), not the host's binary. The built image starts and its Node
// reports the daemon's architecture.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Docker from 'dockerode'
import { afterAll, describe, expect, it } from 'vitest'
import type { StackEvent } from '../../src/shared/api/stack'
import { buildServiceImage } from '../../src/core/supervisor/service-image-build'

const root = resolve(import.meta.dirname, '../..')
const docker = new Docker()
const tag = `test-${randomBytes(4).toString('hex')}`
const cacheDir = mkdtempSync(join(tmpdir(), 'flashbox-node-cache-'))
const containers: string[] = []

afterAll(async () => {
  for (const id of containers)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {})
  await docker
    .getImage(`flashbox/relay:${tag}`)
    .remove({ force: true })
    .catch(() => {})
  rmSync(cacheDir, { recursive: true, force: true })
})

describe('building the box’s own service image', () => {
  it('builds flashbox/relay from scratch with progress, on the daemon’s Linux Node', async () => {
    const events: Extract<StackEvent, { type: 'image-progress' }>[] = []
    const pinned = await buildServiceImage({
      docker,
      id: 'relay',
      repoRoot: root,
      cacheDir,
      tag,
      labels: { 'io.flashbox.test': '1' },
      publish: (e) => {
        if (e.type === 'image-progress') events.push(e)
      },
    })
    expect(pinned).toMatchObject({ repository: 'flashbox/relay', tag, builtHere: true })
    expect(pinned.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    // Progress through every step, ending done; Docker's own build steps among them.
    const statuses = events.flatMap((e) => e.layers.map((l) => `${l.id}: ${l.status}`))
    expect(statuses).toContain('Node for Linux: downloading')
    expect(statuses.some((s) => /^Build: Step \d+\/\d+ : FROM scratch/.test(s))).toBe(true)
    expect(events.at(-1)).toMatchObject({ done: true, current: 5, total: 5 })

    const info = (await docker.getImage(pinned.digest).inspect()) as {
      Config: { Labels: Record<string, string> }
    }
    const arch = (await docker.info()).Architecture === 'aarch64' ? 'arm64' : 'x64'
    expect(info.Config.Labels['io.flashbox.node']).toBe(`${process.versions.node}-linux-${arch}`)

    // The image's Node runs on the daemon and is the Linux build for its architecture.
    const c = await docker.createContainer({
      Image: pinned.digest,
      Entrypoint: ['/usr/local/bin/node', '-e', 'console.log(process.platform, process.arch)'],
      Labels: { 'io.flashbox.test': '1' },
    })
    containers.push(c.id)
    await c.start()
    await c.wait()
    const logs = (await c.logs({ stdout: true, stderr: true })).toString('utf8')
    expect(logs, logs).toContain(`linux ${arch}`)
  })
})
