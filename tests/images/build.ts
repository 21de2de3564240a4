// Test images built locally (no registry is reachable): a Node base image assembled from the
// project's pinned node binary plus the host's shared libraries it links (found with `ldd`),
// imported as a single-layer image, and small images on top of it holding test programs.
// Both are cached by content hash, so a repeated run finds them and builds nothing.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const TEST_LABEL = 'io.flashbox.test'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface BuiltImage {
  /** `repository:tag` */
  readonly tag: string
  readonly repository: string
  readonly version: string
  /** Image ID, `sha256:…`: what a catalog pins for images built here. */
  readonly id: `sha256:${string}`
}

function docker(args: string[], input?: Buffer | string): string {
  const r = spawnSync('docker', args, { input, maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) {
    throw new Error(`docker ${args.join(' ')} failed: ${r.stderr?.toString() ?? r.error?.message}`)
  }
  return r.stdout.toString().trim()
}

function imageId(tag: string): `sha256:${string}` | undefined {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', tag])
  return r.status === 0 ? (r.stdout.toString().trim() as `sha256:${string}`) : undefined
}

/** Shared libraries the binary needs, as [path the loader asks for, real file]. */
function sharedLibraries(binary: string): [string, string][] {
  const out = execFileSync('ldd', [binary]).toString()
  const libs: [string, string][] = []
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (m?.[1]) libs.push([m[1], realpathSync(m[1])])
  }
  return libs
}

export function nodeBinary(): string {
  return realpathSync(join(root, 'node_modules', 'node', 'bin', 'node'))
}

let baseCache: BuiltImage | undefined

/** `flashbox-test/node-base:<hash>`: node at /usr/local/bin/node, its libraries, /tmp. */
export function buildNodeBaseImage(): BuiltImage {
  if (baseCache) return baseCache
  const node = nodeBinary()
  const libs = sharedLibraries(node)
  const h = createHash('sha256')
  for (const [path, real] of [['/usr/local/bin/node', node] as [string, string], ...libs]) {
    const st = statSync(real)
    h.update(`${path}\0${real}\0${st.size}\0${st.mtimeMs}\n`)
  }
  const version = h.digest('hex').slice(0, 16)
  const repository = 'flashbox-test/node-base'
  const tag = `${repository}:${version}`
  let id = imageId(tag)
  if (!id) {
    const stage = mkdtempSync(join(tmpdir(), 'flashbox-node-base-'))
    try {
      mkdirSync(join(stage, 'usr/local/bin'), { recursive: true })
      copyFileSync(node, join(stage, 'usr/local/bin/node'))
      chmodSync(join(stage, 'usr/local/bin/node'), 0o755)
      for (const [path, real] of libs) {
        mkdirSync(join(stage, dirname(path)), { recursive: true })
        copyFileSync(real, join(stage, path))
      }
      mkdirSync(join(stage, 'tmp'))
      chmodSync(join(stage, 'tmp'), 0o1777)
      mkdirSync(join(stage, 'etc'))
      writeFileSync(join(stage, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/local/bin/node\n')
      writeFileSync(join(stage, 'etc/group'), 'root:x:0:\n')
      const tar = execFileSync('tar', ['-C', stage, '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 })
      docker(
        [
          'import',
          '-c',
          'ENV PATH=/usr/local/bin',
          '-c',
          `LABEL ${TEST_LABEL}=1`,
          '-c',
          'CMD ["/usr/local/bin/node"]',
          '-',
          tag,
        ],
        tar,
      )
    } finally {
      rmSync(stage, { recursive: true, force: true })
    }
    id = imageId(tag)
    if (!id) throw new Error(`built ${tag} but cannot find it`)
  }
  baseCache = { tag, repository, version, id }
  return baseCache
}

export interface TestImageOptions {
  /** Path inside the image → contents. */
  readonly files: Readonly<Record<string, string | Buffer>>
  /** The image's CMD (exec form). */
  readonly cmd: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  readonly workdir?: string
  /** Paths among `files` to make executable (0755). */
  readonly executable?: readonly string[]
}

/** `flashbox-test/<name>:<hash>` on top of the node base image, built from `files`. */
export function buildTestImage(name: string, opts: TestImageOptions): BuiltImage {
  const base = buildNodeBaseImage()
  const h = createHash('sha256').update(base.id).update(JSON.stringify(opts.cmd))
  h.update(JSON.stringify(opts.env ?? {})).update(opts.workdir ?? '')
  h.update(JSON.stringify(opts.executable ?? []))
  for (const p of Object.keys(opts.files).sort()) h.update(p).update('\0').update(opts.files[p]!)
  const version = h.digest('hex').slice(0, 16)
  const repository = `flashbox-test/${name}`
  const tag = `${repository}:${version}`
  let id = imageId(tag)
  if (!id) {
    const stage = mkdtempSync(join(tmpdir(), `flashbox-${name}-`))
    try {
      const ctx = join(stage, 'ctx')
      for (const [p, contents] of Object.entries(opts.files)) {
        const dest = join(ctx, p.replace(/^\/+/, ''))
        mkdirSync(dirname(dest), { recursive: true })
        writeFileSync(dest, contents)
        if (opts.executable?.includes(p)) chmodSync(dest, 0o755)
      }
      const dockerfile = [
        `FROM ${base.tag}`,
        `LABEL ${TEST_LABEL}=1`,
        ...Object.entries(opts.env ?? {}).map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}`),
        ...(opts.workdir ? [`WORKDIR ${opts.workdir}`] : []),
        'COPY ctx/ /',
        `CMD ${JSON.stringify(opts.cmd)}`,
      ].join('\n')
      writeFileSync(join(stage, 'Dockerfile'), dockerfile + '\n')
      const r = spawnSync('docker', ['build', '-q', '-t', tag, stage], {
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        maxBuffer: 16 * 1024 * 1024,
      })
      if (r.status !== 0) throw new Error(`docker build ${tag} failed: ${r.stderr.toString()}`)
    } finally {
      rmSync(stage, { recursive: true, force: true })
    }
    id = imageId(tag)
    if (!id) throw new Error(`built ${tag} but cannot find it`)
  }
  return { tag, repository, version, id }
}
