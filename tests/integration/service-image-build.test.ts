// With ownServices 'container' the app builds its own relay image through the engine's Docker
// API, from scratch, with progress: the Linux Node build for the Docker daemon's architecture
// (from the npm registry, checked), not the host's binary. The built image starts and its Node
// reports the daemon's architecture.
// Where Docker runs a Linux VM (macOS, Windows) the image starts FROM the catalog's glibc base
// (Debian slim by digest) instead: checked here by the build context rendered for an arm64 engine
// seen from a Mac, and by a real build FROM a locally built stand-in glibc base image that an
// offline bundle names (no registry is reachable here).
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import Docker from 'dockerode'
import { extract } from 'tar-stream'
import { afterAll, describe, expect, it } from 'vitest'
import type { StackEvent } from '../../src/shared/api/stack'
import { glibcBaseImage } from '../../src/core/stack/images'
import { linuxNode } from '../../src/core/stack/linux-node'
import { buildServiceImage, defaultBaseImage } from '../../src/core/supervisor/service-image-build'

const root = resolve(import.meta.dirname, '../..')
const docker = new Docker()
const tag = `test-${randomBytes(4).toString('hex')}`
const cacheDir = mkdtempSync(join(tmpdir(), 'flashbox-node-cache-'))
const containers: string[] = []
const standIn = `flashbox-test/glibc-base:${tag}`

afterAll(async () => {
  for (const id of containers)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {})
  for (const image of [`flashbox/relay:${tag}`, `flashbox/mint:${tag}`, standIn])
    await docker
      .getImage(image)
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

/** The files of a build context as buildImage received it. */
async function readContext(tar: NodeJS.ReadableStream): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  const ex = extract()
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer)
    })
    stream.on('end', () => {
      if (header.type === 'file') files.set(header.name, Buffer.concat(chunks))
      next()
    })
  })
  await new Promise<void>((ok, fail) => {
    ex.on('finish', ok)
    ex.on('error', fail)
    ;(tar as Readable).pipe(ex)
  })
  return files
}

describe('where Docker runs a Linux VM (macOS, Windows)', () => {
  it('an arm64 engine seen from a Mac: arm64 Node, FROM the pinned Debian base, no host libraries; offline it says so plainly', async () => {
    let context: Map<string, Buffer> | undefined
    let buildOptions: Record<string, unknown> = {}
    // Docker's API as an arm64 Docker Desktop answers it, with no registry reachable.
    const vm = {
      info: async () => ({ Architecture: 'aarch64' }),
      getImage: () => ({ inspect: () => Promise.reject(new Error('No such image')) }),
      buildImage: async (tar: NodeJS.ReadableStream, o: Record<string, unknown>) => {
        buildOptions = o
        context = await readContext(tar)
        return Readable.from([])
      },
      modem: {
        followProgress: (
          _s: unknown,
          done: (err: Error | null, out: { error?: string }[]) => void,
        ) =>
          done(null, [
            {
              error: `failed to resolve source metadata for ${defaultBaseImage}: dial tcp: lookup registry-1.docker.io: no such host`,
            },
          ]),
      },
    } as unknown as Docker
    const events: Extract<StackEvent, { type: 'image-progress' }>[] = []
    const err = await buildServiceImage({
      docker: vm,
      id: 'mint',
      repoRoot: root,
      cacheDir,
      tag,
      host: { platform: 'darwin', arch: 'arm64' },
      publish: (e) => {
        if (e.type === 'image-progress') events.push(e)
      },
    }).catch((e: unknown) => e)

    expect(buildOptions.platform).toBe('linux/arm64')
    const files = context!
    const dockerfile = files.get('Dockerfile')!.toString()
    expect(dockerfile.split('\n').filter((l) => l.startsWith('FROM '))).toEqual([
      `FROM docker.io/library/debian@${glibcBaseImage.digest}`,
    ])
    // The Linux Node for aarch64 (ELF e_machine 183), and no library of this computer.
    const node = files.get('rootfs/usr/local/bin/node')!
    expect(node.subarray(0, 4).toString('latin1')).toBe('\x7fELF')
    expect(node.readUInt16LE(18)).toBe(183)
    expect([...files.keys()].filter((f) => /\.so(\.|$)|ld-linux/.test(f))).toEqual([])
    expect(files.has('rootfs/etc/passwd')).toBe(false)
    expect(files.has('app/mint.mjs')).toBe(true)

    expect(err).toMatchObject({ code: 'stack.base_image_unavailable' })
    expect((err as Error).message).toMatch(/could not be downloaded/)
    expect((err as { hint: string }).hint).toContain('Settings → Images')
    const statuses = events.flatMap((e) => e.layers.map((l) => `${l.id}: ${l.status}`))
    expect(statuses).toContain('Libraries: finding the glibc base image')
  }, 240_000)

  it('builds FROM a glibc base an offline bundle loaded, and the image runs', async () => {
    // A stand-in for Debian's slim image: an image holding only this computer's glibc for the
    // Linux Node binary (what the base provides), built locally and labelled as a test image.
    const arch = (await docker.info()).Architecture === 'aarch64' ? 'arm64' : 'x64'
    const node = await linuxNode({ arch, cacheDir })
    const ctx = mkdtempSync(join(tmpdir(), 'flashbox-glibc-standin-'))
    try {
      const out = execFileSync('ldd', [node], { encoding: 'utf8' })
      const libs = [...out.matchAll(/(?:=>\s+|^\s*)(\/\S+)/gm)].map((m) => m[1]!)
      for (const lib of libs) {
        mkdirSync(join(ctx, 'rootfs', dirname(lib)), { recursive: true })
        copyFileSync(lib, join(ctx, 'rootfs', lib))
      }
      mkdirSync(join(ctx, 'rootfs', 'tmp'), { recursive: true })
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\n')
      execFileSync('docker', ['build', '-q', '--label', 'io.flashbox.test=1', '-t', standIn, ctx])
    } finally {
      rmSync(ctx, { recursive: true, force: true })
    }
    const standInId = (await docker.getImage(standIn).inspect()).Id
    // The bundle's manifest names the catalog's pinned reference, which Docker does not have.
    const events: Extract<StackEvent, { type: 'image-progress' }>[] = []
    const pinned = await buildServiceImage({
      docker,
      id: 'mint',
      repoRoot: root,
      cacheDir,
      tag,
      labels: { 'io.flashbox.test': '1' },
      host: { platform: 'darwin', arch: arch === 'x64' ? 'arm64' : 'x64' },
      bundle: [{ ref: defaultBaseImage, file: 'debian.tar', imageId: standInId }],
      publish: (e) => {
        if (e.type === 'image-progress') events.push(e)
      },
    })
    const statuses = events.flatMap((e) => e.layers.map((l) => `${l.id}: ${l.status}`))
    expect(statuses).toContain(`Libraries: base image ${standInId}`)
    expect(statuses.some((s) => s.startsWith(`Build: Step 1/`) && s.includes(standInId))).toBe(true)
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
  }, 240_000)
})
