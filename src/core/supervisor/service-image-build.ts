// Builds the box's own service images (flashbox/relay, flashbox/mint) through the engine's Docker
// API, with progress, from this checkout's sources — what docker/<name>/build.sh does by hand:
// esbuild bundles the service into one module, the root filesystem gets the Linux Node build for
// the Docker engine's architecture (asked of Docker, not this process: src/core/stack/linux-node.ts,
// from the npm registry, checked against its integrity), and docker/<name>/Dockerfile puts it
// into an image.
// Linux's C library, which that Node binary links:
// - this computer is Linux on the engine's architecture: the very glibc files `ldd` names for the
//   downloaded binary, copied into an empty image (FROM scratch);
// - otherwise (Docker Desktop's Linux VM on macOS or Windows, or another architecture): the image
//   starts FROM Debian's slim image pinned by digest in the catalog (glibcBaseImage), for the
//   engine's platform. Offline, that base comes from Docker's own store or an offline image bundle
//   (Settings → Images); when it is in neither, the build says so plainly.
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
import { catalogImages, glibcBaseImage, pinBuiltImage } from '../stack/images'
import { linuxNode, linuxNodeArch, type LinuxNodeArch } from '../stack/linux-node'
import type { PinnedImage } from '../stack/spec'
import type { BundleManifest } from './images'

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
  /** The computer this runs on (default this process's); decides where glibc comes from. */
  readonly host?: { readonly platform: NodeJS.Platform; readonly arch: string }
  /** The glibc base image reference (default the catalog's, by digest). */
  readonly baseImage?: string
  /** The loaded offline bundle's manifest: a base image it holds is used by its image ID. */
  readonly bundle?: BundleManifest
}

/** Where the image's C library comes from (see the top of this file). */
export type GlibcSource = 'host-libraries' | 'base-image'

export function glibcSource(
  host: { readonly platform: NodeJS.Platform; readonly arch: string },
  engineArch: LinuxNodeArch,
): GlibcSource {
  return host.platform === 'linux' && host.arch === engineArch ? 'host-libraries' : 'base-image'
}

export const defaultBaseImage = `${glibcBaseImage.repository}@${glibcBaseImage.digest}`

/** docker/<name>/Dockerfile with its `FROM scratch` replaced by the base image, when there is one. */
export function renderDockerfile(source: string, base: string | null): string {
  if (base === null) return source
  if (!/^FROM scratch$/m.test(source)) throw new Error('Dockerfile does not start FROM scratch')
  return source.replace(/^FROM scratch$/m, `FROM ${base}`)
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
  const glibc = glibcSource(opts.host ?? { platform: process.platform, arch: process.arch }, arch)
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

    step++
    const rootfs = join(ctx, 'rootfs')
    mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true })
    mkdirSync(join(rootfs, 'data'), { recursive: true })
    copyFileSync(node, join(rootfs, 'usr/local/bin/node'))
    let base: string | null = null
    if (glibc === 'host-libraries') {
      report('gathering shared libraries')
      mkdirSync(join(rootfs, 'tmp'), { recursive: true })
      mkdirSync(join(rootfs, 'etc'), { recursive: true })
      for (const lib of sharedLibraries(node)) {
        mkdirSync(join(rootfs, dirname(lib)), { recursive: true })
        // Modes kept: the dynamic loader must stay executable.
        copyFileSync(lib, join(rootfs, lib))
      }
      writeFileSync(
        join(rootfs, 'etc/passwd'),
        `root:x:0:0:root:/:/usr/sbin/nologin\n${opts.id}:x:1000:1000:${opts.id}:/data:/usr/sbin/nologin\n`,
      )
      writeFileSync(join(rootfs, 'etc/group'), `root:x:0:\n${opts.id}:x:1000:\n`)
    } else {
      report('finding the glibc base image')
      base = await resolveBase(opts, arch)
      report(`base image ${base.slice(0, 80)}`)
    }
    writeFileSync(
      join(ctx, 'Dockerfile'),
      renderDockerfile(
        readFileSync(join(opts.repoRoot, 'docker', opts.id, 'Dockerfile'), 'utf8'),
        base,
      ),
    )

    step++
    report('docker build')
    const tar = pack()
    const modes: Record<string, number> = {
      // A base image brings its own /tmp (1777); only the empty image needs one from here.
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
      // The base image's platform must be the engine's (an index digest names several).
      platform: `linux/${arch === 'x64' ? 'amd64' : 'arm64'}`,
    })
    let lines = 0
    await new Promise<void>((resolve, reject) =>
      opts.docker.modem.followProgress(
        stream,
        (err: Error | null, out: { error?: string }[]) => {
          const failed = err?.message ?? out.find((o) => o.error)?.error
          if (failed && base !== null && base === (opts.baseImage ?? defaultBaseImage))
            reject(baseUnavailable(base, failed))
          else if (failed)
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

/**
 * The base image to build FROM, without the network when possible: the pinned reference when
 * Docker already has it, else the image an offline bundle loaded for that reference (by its
 * image ID, checked when the bundle was loaded), else the pinned reference for Docker to
 * download (its digest checked by Docker).
 */
async function resolveBase(opts: BuildServiceImageOptions, arch: LinuxNodeArch): Promise<string> {
  const ref = opts.baseImage ?? defaultBaseImage
  const have = async (r: string) => {
    const img = (await opts.docker
      .getImage(r)
      .inspect()
      .catch(() => undefined)) as { Id: string; Architecture?: string } | undefined
    const want = arch === 'x64' ? 'amd64' : 'arm64'
    return img && (!img.Architecture || img.Architecture === want) ? img.Id : undefined
  }
  if (await have(ref)) return ref
  const bundled = opts.bundle?.find((b) => b.ref === ref)
  if (bundled && (await have(bundled.imageId))) return bundled.imageId
  return ref
}

function baseUnavailable(base: string, detail: string): FlashError {
  return new FlashError(
    'stack.base_image_unavailable',
    `This computer cannot give Docker's Linux the C library the relay and mint need, so their images start from Debian's small base image (${base.split('@')[0]}), and Docker could not get it: it is not on this computer and could not be downloaded (${detail.slice(0, 160)}).`,
    'Connect this computer to the internet once so Docker can download it, or load an offline image bundle that contains it (Settings → Images); or run the relay and the mint inside the app (Settings → Services).',
  )
}
