// Settings → Images → "Load an offline bundle", against the real Docker Engine: every archive is
// checked against its pinned image ID (config) and its layers (diff_ids) before Docker loads it;
// a swapped or altered archive is refused and nothing of it is loaded.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { extract, pack } from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keptBundleDir, loadOfflineBundle } from '../../src/core/supervisor/offline-bundle'
import { verifyImageArchive } from '../../src/core/supervisor/image-archive'

const docker = new Docker()
const work = mkdtempSync(join(tmpdir(), 'fb-bundle-'))
const tags: string[] = []

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`)
  return r.stdout.toString().trim()
}

/** A one-file image made here (no registry): returns its tag and image ID. */
function tinyImage(name: string): { tag: string; id: string } {
  const dir = join(work, `rootfs-${name}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'hello.txt'), `${name} ${randomBytes(16).toString('hex')}\n`)
  const tag = `flashbox-test/bundle-${name}:${process.pid}`
  const tarPath = join(work, `${name}-rootfs.tar`)
  sh('tar', ['-C', dir, '-cf', tarPath, '.'])
  sh('docker', ['import', '--change', 'LABEL io.flashbox.test=1', tarPath, tag])
  tags.push(tag)
  return { tag, id: sh('docker', ['image', 'inspect', '--format', '{{.Id}}', tag]) }
}

async function rewriteArchive(
  src: string,
  dst: string,
  change: (name: string, b: Buffer) => Buffer,
) {
  const entries: { name: string; body: Buffer; type: string; linkname?: string }[] = []
  const ex = extract()
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: unknown) => chunks.push(c as Buffer))
    stream.on('end', () => {
      entries.push({
        name: h.name,
        body: Buffer.concat(chunks),
        type: h.type,
        linkname: h.linkname,
      })
      next()
    })
  })
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve)
    ex.on('error', reject)
    ex.end(readFileSync(src))
  })
  const p = pack()
  const out: Buffer[] = []
  p.on('data', (c: unknown) => out.push(c as Buffer))
  const done = new Promise<void>((r) => p.on('end', () => r()))
  for (const e of entries) {
    if (e.type === 'file') p.entry({ name: e.name }, change(e.name, e.body))
    else p.entry({ name: e.name, type: e.type as 'directory', linkname: e.linkname })
  }
  p.finalize()
  await done
  writeFileSync(dst, Buffer.concat(out))
}

let a: { tag: string; id: string }
let b: { tag: string; id: string }
const bundle = join(work, 'bundle')

beforeAll(() => {
  a = tinyImage('a')
  b = tinyImage('b')
  mkdirSync(bundle)
  sh('docker', ['save', '-o', join(bundle, 'a.tar'), a.tag])
  sh('docker', ['save', '-o', join(bundle, 'b.tar'), b.tag])
})

afterAll(() => {
  for (const t of tags) spawnSync('docker', ['image', 'rm', '-f', t])
  for (const id of [a?.id, b?.id]) if (id) spawnSync('docker', ['image', 'rm', '-f', id])
  rmSync(work, { recursive: true, force: true })
})

describe('offline image bundle', () => {
  it('checks each archive against its image ID and layers, then loads it; the manifest is kept', async () => {
    writeFileSync(
      join(bundle, 'manifest.json'),
      JSON.stringify([
        { ref: `flashbox-test/bundle-a@${a.id}`, file: 'a.tar', imageId: a.id },
        { ref: `flashbox-test/bundle-b@${b.id}`, file: 'b.tar', imageId: b.id },
      ]),
    )
    // Gone from Docker: only the bundle can bring them back.
    sh('docker', ['image', 'rm', '-f', a.tag, b.tag])
    expect(spawnSync('docker', ['image', 'inspect', a.id]).status).not.toBe(0)
    const keep = keptBundleDir(join(work, 'engine'))
    const steps: string[] = []
    const loaded = await loadOfflineBundle(docker, bundle, keep, (p) =>
      steps.push(`${p.file}:${p.step}`),
    )
    expect(loaded.map((l) => l.imageId)).toEqual([a.id, b.id])
    expect(loaded[0]!.layers).toBe(1)
    expect(steps).toContain('a.tar:checking')
    expect(steps).toContain('b.tar:done')
    expect(spawnSync('docker', ['image', 'inspect', a.id]).status).toBe(0)
    expect(JSON.parse(readFileSync(join(keep, 'manifest.json'), 'utf8'))).toHaveLength(2)
  })

  it('refuses an archive that holds another image than the manifest says, before loading it', async () => {
    const dir = join(work, 'swapped')
    mkdirSync(dir)
    writeFileSync(join(dir, 'a.tar'), readFileSync(join(bundle, 'b.tar')))
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ ref: `flashbox-test/bundle-a@${a.id}`, file: 'a.tar', imageId: a.id }]),
    )
    sh('docker', ['image', 'rm', '-f', b.id])
    await expect(loadOfflineBundle(docker, dir, join(work, 'keep2'))).rejects.toMatchObject({
      code: 'stack.bundle_digest_mismatch',
      message: expect.stringContaining('is not the image it claims to be'),
    })
    // Nothing of it was loaded.
    expect(spawnSync('docker', ['image', 'inspect', b.id]).status).not.toBe(0)
    expect(existsSync(join(work, 'keep2', 'manifest.json'))).toBe(false)
  })

  it('refuses an archive whose layer was altered even though its config is intact', async () => {
    const altered = join(work, 'altered-a.tar')
    await rewriteArchive(join(bundle, 'a.tar'), altered, (name, body) =>
      /layer\.tar$|^blobs\/sha256\//.test(name) && body.length > 1024
        ? Buffer.concat([body, Buffer.alloc(512)])
        : body,
    )
    await expect(verifyImageArchive(altered, a.id)).rejects.toMatchObject({
      code: 'stack.bundle_digest_mismatch',
      message: expect.stringContaining('layer 1 does not match its digest'),
    })
    // The untouched archive passes the same check.
    await expect(verifyImageArchive(join(bundle, 'a.tar'), a.id)).resolves.toMatchObject({
      imageId: a.id,
      layers: 1,
    })
  })
})
