// Test images of Debian's own programs (caddy, tor): the installed binary, the shared libraries
// it links (ldd) and any data files it needs, imported as one layer (no registry is reachable, so
// there is no base image to build on). Cached by content hash; labelled io.flashbox.test=1.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  chmodSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { TEST_LABEL, type BuiltImage } from './build'

function sharedLibraries(binary: string): [string, string][] {
  const out = execFileSync('ldd', [binary]).toString()
  const libs: [string, string][] = []
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (m?.[1]) libs.push([m[1], realpathSync(m[1])])
  }
  return libs
}

function imageId(tag: string): `sha256:${string}` | undefined {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', tag])
  return r.status === 0 ? (r.stdout.toString().trim() as `sha256:${string}`) : undefined
}

/** `flashbox-test/<name>:<hash>` holding `binary` (at the same path), its libraries and `extra` files. */
export function buildDebianBinaryImage(
  name: string,
  binary: string,
  extra: readonly string[] = [],
): BuiltImage {
  const files: [string, string][] = [[binary, realpathSync(binary)], ...sharedLibraries(binary)]
  for (const f of extra) files.push([f, realpathSync(f)])
  const h = createHash('sha256')
  for (const [path, real] of files) {
    const st = statSync(real)
    h.update(`${path}\0${real}\0${st.size}\0${st.mtimeMs}\n`)
  }
  const version = h.digest('hex').slice(0, 16)
  const repository = `flashbox-test/${name}`
  const tag = `${repository}:${version}`
  let id = imageId(tag)
  if (!id) {
    const stage = mkdtempSync(join(tmpdir(), `flashbox-${name}-`))
    try {
      for (const [path, real] of files) {
        mkdirSync(join(stage, dirname(path)), { recursive: true })
        copyFileSync(real, join(stage, path))
      }
      chmodSync(join(stage, binary), 0o755)
      for (const d of ['tmp', 'data']) {
        mkdirSync(join(stage, d), { recursive: true })
        chmodSync(join(stage, d), 0o1777)
      }
      mkdirSync(join(stage, 'etc'), { recursive: true })
      writeFileSync(join(stage, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/false\n')
      writeFileSync(join(stage, 'etc/group'), 'root:x:0:\n')
      const tar = execFileSync('tar', ['-C', stage, '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 })
      const r = spawnSync(
        'docker',
        ['import', '-c', `LABEL ${TEST_LABEL}=1`, '-c', `ENTRYPOINT ["${binary}"]`, '-', tag],
        { input: tar, maxBuffer: 16 * 1024 * 1024 },
      )
      if (r.status !== 0) throw new Error(`docker import ${tag} failed: ${r.stderr.toString()}`)
    } finally {
      rmSync(stage, { recursive: true, force: true })
    }
    id = imageId(tag)
    if (!id) throw new Error(`built ${tag} but cannot find it`)
  }
  return { tag, repository, version, id }
}

export const debianCaddyImage = () => buildDebianBinaryImage('caddy', '/usr/bin/caddy')
export const debianTorImage = () =>
  buildDebianBinaryImage('tor', '/usr/bin/tor', ['/usr/share/tor/geoip', '/usr/share/tor/geoip6'])
