// A PostgreSQL test image made from Debian's own postgresql package on this machine (no registry
// is reachable, so there is no postgres image to pull): the server and client programs, their
// shared libraries (ldd), the extension libraries and share/ files, dash for the entrypoint, all
// imported as one layer. Like the official image it initialises an empty PGDATA on first start
// (superuser `postgres`, local socket trusted, TCP by password) and runs any *.sql in
// /docker-entrypoint-initdb.d once; the socket is in /var/run/postgresql, where Debian's psql,
// pg_dumpall and pg_isready look. Cached by content hash; labelled io.flashbox.test=1.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { TEST_LABEL, type BuiltImage } from './build'

const PG = '/usr/lib/postgresql/15'
const SHARE = '/usr/share/postgresql/15'
const PROGRAMS = ['postgres', 'initdb', 'pg_ctl', 'psql', 'pg_dump', 'pg_dumpall', 'pg_isready']

/** Whether this machine has Debian's PostgreSQL 15 (CI installs `postgresql`). */
export function debianPostgresAvailable(): boolean {
  return PROGRAMS.every((p) => existsSync(join(PG, 'bin', p))) && existsSync('/bin/dash')
}

function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary]).toString()
  const libs: string[] = []
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (m?.[1]) libs.push(m[1])
  }
  return libs
}

function walkFiles(dir: string, skip: (name: string) => boolean = () => false): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skip(e.name)) continue
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...walkFiles(p, skip))
    else if (e.isFile() || e.isSymbolicLink()) out.push(p)
  }
  return out
}

const ENTRYPOINT = `#!/bin/sh
set -e
export PGDATA="\${PGDATA:-/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  ${PG}/bin/initdb -D "$PGDATA" -U postgres --no-locale --encoding=UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null 2>&1
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  ${PG}/bin/pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ -n "$POSTGRES_PASSWORD" ]; then
    echo "ALTER ROLE postgres PASSWORD :'pw';" |
      ${PG}/bin/psql -q -U postgres -d postgres -v ON_ERROR_STOP=1 -v pw="$POSTGRES_PASSWORD" >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -f "$f" ] && ${PG}/bin/psql -q -U postgres -d postgres -v ON_ERROR_STOP=1 -f "$f" >/dev/null
  done
  ${PG}/bin/pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec ${PG}/bin/postgres -D "$PGDATA" "$@"
`

function imageId(tag: string): `sha256:${string}` | undefined {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', tag])
  return r.status === 0 ? (r.stdout.toString().trim() as `sha256:${string}`) : undefined
}

/** `flashbox-test/postgres:<hash>`: Debian's PostgreSQL 15 run as uid 999 (`postgres`). */
export function debianPostgresImage(): BuiltImage {
  const files = new Set<string>(['/bin/dash', ...sharedLibraries('/bin/dash')])
  for (const p of PROGRAMS) {
    files.add(join(PG, 'bin', p))
    for (const l of sharedLibraries(join(PG, 'bin', p))) files.add(l)
  }
  for (const f of walkFiles(join(PG, 'lib'), (n) => n === 'bitcode' || n.startsWith('llvmjit')))
    files.add(f)
  for (const f of walkFiles(SHARE)) files.add(f)
  for (const z of ['/usr/share/zoneinfo/UTC', '/usr/share/zoneinfo/Etc/UTC'])
    if (existsSync(z)) files.add(z)
  const list = [...files].sort()
  const h = createHash('sha256').update(ENTRYPOINT)
  for (const f of list) {
    const st = statSync(realpathSync(f))
    h.update(`${f}\0${st.size}\0${st.mtimeMs}\n`)
  }
  const version = h.digest('hex').slice(0, 16)
  const repository = 'flashbox-test/postgres'
  const tag = `${repository}:${version}`
  let id = imageId(tag)
  if (!id) {
    const stage = mkdtempSync(join(tmpdir(), 'flashbox-postgres-'))
    try {
      for (const f of list) {
        mkdirSync(join(stage, dirname(f)), { recursive: true })
        copyFileSync(realpathSync(f), join(stage, f))
      }
      mkdirSync(join(stage, 'bin'), { recursive: true })
      copyFileSync('/bin/dash', join(stage, 'bin/sh'))
      for (const p of PROGRAMS) chmodSync(join(stage, PG, 'bin', p), 0o755)
      chmodSync(join(stage, 'bin/sh'), 0o755)
      chmodSync(join(stage, 'bin/dash'), 0o755)
      writeFileSync(join(stage, 'entrypoint.sh'), ENTRYPOINT, { mode: 0o755 })
      for (const d of [
        'tmp',
        'var/run/postgresql',
        'var/lib/postgresql',
        'docker-entrypoint-initdb.d',
      ]) {
        mkdirSync(join(stage, d), { recursive: true })
        chmodSync(join(stage, d), 0o1777)
      }
      mkdirSync(join(stage, 'etc'), { recursive: true })
      writeFileSync(
        join(stage, 'etc/passwd'),
        'root:x:0:0:root:/root:/bin/false\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n',
      )
      writeFileSync(join(stage, 'etc/group'), 'root:x:0:\npostgres:x:999:\n')
      const tar = execFileSync('tar', ['-C', stage, '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 })
      const r = spawnSync(
        'docker',
        [
          'import',
          '-c',
          `LABEL ${TEST_LABEL}=1`,
          '-c',
          'USER 999:999',
          '-c',
          'ENV PATH=/usr/lib/postgresql/15/bin:/bin TZ=UTC PGDATA=/var/lib/postgresql/data',
          '-c',
          'ENTRYPOINT ["/entrypoint.sh"]',
          '-',
          tag,
        ],
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
