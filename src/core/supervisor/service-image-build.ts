// Builds the box's own service images (flashbox/relay, flashbox/mint) through the engine's Docker
// API, with progress, from this checkout's sources — what docker/<name>/build.sh does by hand:
// esbuild bundles the service into one module, the root filesystem gets the Linux Node build for
// the Docker daemon's architecture (src/core/stack/linux-node.ts, from the npm registry, checked
// against its integrity) and the shared libraries that binary links, and docker/<name>/Dockerfile
// copies that into an empty image (FROM scratch).
// Shared libraries: taken from this computer only when it is Linux on the daemon's architecture
// (then they are the very glibc libraries `ldd` names for the downloaded binary). Where Docker
// runs a Linux VM of another kind (macOS, Windows) there is no such source here yet: the build
// says so plainly instead of producing an image that cannot start.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import type Docker from 'dockerode'
import { pack } from 'tar-stream'
import type { LayerProgress, StackEvent } from '../../shared/api/stack'
import { FlashError } from '../errors'
import { catalogImages, pinBuiltImage } from '../stack/images'
import { linuxNode, linuxNodeArch, type LinuxNodeArch } from '../stack/linux-node'
import type { PinnedImage } from '../stack/spec'

export type OwnServiceId = 'relay' | 'mint'

export interface BuildServiceImageOptions {
  readonly docker: Docker
  readonly id: OwnServiceId
  /** The checkout holding services/ and docker/ (and node_modules for the bundler). */
  readonly repoRoot: string
  /** Where the downloaded Linux Node builds are kept. */
  readonly cacheDir: string
  readonly publish?: (e: StackEvent) => void
  /** Default the catalog's tag (0.1.0). */
  readonly tag?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly registry?: string
}

const BANNER =
  "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"

interface Recipe {
  readonly bundles: readonly { entry: string; out: string }[]
  readonly define?: Record<string, string>
  readonly copies: readonly { from: string; to: string }[]
  readonly dirs: readonly string[]
}

const recipes: Record<OwnServiceId, Recipe> = {
  relay: {
    bundles: [
      { entry: 'services/relay/src/main.ts', out: 'app/relay.mjs' },
      { entry: 'services/relay/src/verify-worker.ts', out: 'app/verify-worker.mjs' },
    ],
    copies: [],
    dirs: [],
  },
  mint: {
    bundles: [{ entry: 'services/mint/src/main.ts', out: 'app/mint.mjs' }],
    // The mint's TEST-ONLY crash hook is compiled out (services/mint/src/fault-injection.ts).
    define: { FLASHBOX_FAULT_INJECTION: 'false' },
    copies: [
      { from: 'node_modules/tiny-secp256k1/lib/secp256k1.wasm', to: 'app/secp256k1.wasm' },
      { from: 'node_modules/lightning/grpc/protos', to: 'grpc/protos' },
    ],
    dirs: ['data'],
  },
}

/** Files `ldd` names for a binary (the loader included), as absolute paths. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' })
  const libs = new Set<string>()
  for (const line of out.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line)
    if (arrow) libs.add(arrow[1]!)
    else {
      const loader = /^\s*(\/\S*ld-linux\S*)/.exec(line)
      if (loader) libs.add(loader[1]!)
    }
  }
  return [...libs]
}

function librariesFor(node: string, arch: LinuxNodeArch): string[] {
  if (process.platform === 'linux' && process.arch === arch) return sharedLibraries(node)
  throw new FlashError(
    'stack.image_build_unsupported_here',
    `Docker runs Linux on ${arch} here, and Flash Box cannot yet gather the Linux libraries the relay and mint images need on this computer (${process.platform} ${process.arch}).`,
    'Run the relay and the mint inside the app (Settings → Services), or load the offline image bundle (Settings → Images).',
  )
}

/** Every file under `dir`, relative to it, directories first, with its permission bits. */
function walk(dir: string, base = dir, out: { path: string; dir: boolean; mode: number }[] = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    const st = statSync(p)
    out.push({ path: relative(base, p), dir: st.isDirectory(), mode: st.mode & 0o7777 })
    if (st.isDirectory()) walk(p, base, out)
  }
  return out
}

export async function buildServiceImage(opts: BuildServiceImageOptions): Promise<PinnedImage> {
  const catalog = catalogImages[opts.id]
  if (catalog.kind !== 'local-build') throw new Error(`${opts.id} is not built here`)
  const tag = opts.tag ?? catalog.tag
  const image = `${catalog.repository}:${tag}`
  const steps = ['Docker', 'Node for Linux', 'Bundle', 'Libraries', 'Build']
  let step = 0
  const layers: LayerProgress[] = steps.map((s) => ({
    id: s,
    status: 'waiting',
    current: 0,
    total: 0,
  }))
  const report = (status: string, current = 0, total = 0, done = false) => {
    layers[step] = { id: steps[step]!, status, current, total }
    opts.publish?.({
      topic: 'stack',
      type: 'image-progress',
      image,
      serviceId: opts.id,
      layers: [...layers],
      current: step + (done ? 1 : 0),
      total: steps.length,
      done,
    })
  }
  report('asking Docker for its architecture')
  const info = (await opts.docker.info()) as { Architecture: string }
  const arch = linuxNodeArch(info.Architecture)
  report(`Linux ${arch}`)
  step++
  report('downloading')
  const node = await linuxNode({
    arch,
    cacheDir: opts.cacheDir,
    ...(opts.registry ? { registry: opts.registry } : {}),
    onProgress: (received, total) => report('downloading', received, total),
  })
  report('verified')
  const ctx = mkdtempSync(join(tmpdir(), `flashbox-build-${opts.id}-`))
  try {
    step++
    report('bundling the service')
    const recipe = recipes[opts.id]
    const { build } = await import('esbuild')
    for (const b of recipe.bundles)
      await build({
        entryPoints: [join(opts.repoRoot, b.entry)],
        outfile: join(ctx, b.out),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node24',
        external: ['bufferutil', 'utf-8-validate'],
        banner: { js: BANNER },
        legalComments: 'none',
        logLevel: 'warning',
        ...(recipe.define ? { define: recipe.define, minifySyntax: true } : {}),
      })
    for (const c of recipe.copies) {
      mkdirSync(dirname(join(ctx, c.to)), { recursive: true })
      cpSync(join(opts.repoRoot, c.from), join(ctx, c.to), { recursive: true })
    }
    for (const d of recipe.dirs) mkdirSync(join(ctx, d), { recursive: true })
    copyFileSync(join(opts.repoRoot, 'docker', opts.id, 'Dockerfile'), join(ctx, 'Dockerfile'))

    step++
    report('gathering shared libraries')
    const rootfs = join(ctx, 'rootfs')
    mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true })
    mkdirSync(join(rootfs, 'tmp'), { recursive: true })
    mkdirSync(join(rootfs, 'data'), { recursive: true })
    mkdirSync(join(rootfs, 'etc'), { recursive: true })
    copyFileSync(node, join(rootfs, 'usr/local/bin/node'))
    for (const lib of librariesFor(node, arch)) {
      mkdirSync(join(rootfs, dirname(lib)), { recursive: true })
      // Modes kept: the dynamic loader must stay executable.
      copyFileSync(lib, join(rootfs, lib))
    }
    writeFileSync(
      join(rootfs, 'etc/passwd'),
      `root:x:0:0:root:/:/usr/sbin/nologin\n${opts.id}:x:1000:1000:${opts.id}:/data:/usr/sbin/nologin\n`,
    )
    writeFileSync(join(rootfs, 'etc/group'), `root:x:0:\n${opts.id}:x:1000:\n`)

    step++
    report('docker build')
    const tar = pack()
    const modes: Record<string, number> = {
      'rootfs/tmp': 0o1777,
      'rootfs/data': 0o777,
      'rootfs/usr/local/bin/node': 0o755,
    }
    for (const e of walk(ctx)) {
      const mode = modes[e.path] ?? (e.dir ? 0o755 : e.mode & 0o111 ? 0o755 : 0o644)
      if (e.dir) tar.entry({ name: e.path, type: 'directory', mode })
      else tar.entry({ name: e.path, mode }, readFileSync(join(ctx, e.path)))
    }
    tar.finalize()
    const source = createHash('sha256')
      .update(readFileSync(join(ctx, 'Dockerfile')))
      .digest('hex')
    const stream = await opts.docker.buildImage(tar as unknown as NodeJS.ReadableStream, {
      t: image,
      labels: {
        'io.flashbox.component': opts.id,
        'io.flashbox.node': `${process.versions.node}-linux-${arch}`,
        'io.flashbox.dockerfile-sha256': source,
        ...opts.labels,
      },
      rm: true,
      forcerm: true,
    })
    let lines = 0
    await new Promise<void>((resolve, reject) =>
      opts.docker.modem.followProgress(
        stream,
        (err: Error | null, out: { error?: string }[]) => {
          const failed = err?.message ?? out.find((o) => o.error)?.error
          if (failed)
            reject(
              new FlashError(
                'stack.image_build_failed',
                `Docker could not build the ${opts.id} image: ${failed}`,
                'See the recent problems in Settings → Diagnostics, then start again.',
              ),
            )
          else resolve()
        },
        (e: { stream?: string }) => {
          const text = e.stream?.trim()
          if (text && /^Step \d+\/\d+/.test(text)) {
            const [, n, of] = /^Step (\d+)\/(\d+)/.exec(text)!
            report(text, Number(n), Number(of))
          } else if (text) report(text.slice(0, 200), ++lines, 0)
        },
      ),
    )
    const id = (await opts.docker.getImage(image).inspect()).Id
    report('built', 1, 1, true)
    return pinBuiltImage({ ...catalog, tag }, id)
  } finally {
    rmSync(ctx, { recursive: true, force: true })
  }
}
