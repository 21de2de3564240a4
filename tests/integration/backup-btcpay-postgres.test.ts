// BTCPay's database through a backup and a restore, on the real Docker Engine with a PostgreSQL
// image made from Debian's postgresql package (tests/images/debian-postgres-image.ts; the
// production image is btcpayserver/postgres, which no registry here can give us). pg_dumpall runs
// in the box's postgres container; the restore feeds the dump to psql in a FRESH container, while
// a client (standing in for BTCPay) is connected to the database the dump recreates.
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dumpBtcpayDatabase, importBtcpayDatabase } from '../../src/core/backup/btcpay-dump'
import { LABEL_SERVICE } from '../../src/core/supervisor/labels'
import { TEST_LABEL } from '../images/build'
import { debianPostgresAvailable, debianPostgresImage } from '../images/debian-postgres-image'
import { psql } from './psql'

const docker = new Docker()
const run = `io.flashbox.test.run=${randomUUID()}`
const pick = { labels: [run] }
const root = mkdtempSync(join(tmpdir(), 'backup-pg-'))
const made: Docker.Container[] = []
let image = ''

beforeAll(() => {
  if (debianPostgresAvailable()) image = debianPostgresImage().tag
}, 300_000)
afterAll(async () => {
  for (const c of made) await c.remove({ force: true }).catch(() => undefined)
  rmSync(root, { recursive: true, force: true })
})

async function startPostgres(): Promise<Docker.Container> {
  const c = await docker.createContainer({
    Image: image,
    name: `flashbox-test-pg-${randomUUID().slice(0, 8)}`,
    Env: ['POSTGRES_PASSWORD=superuser-secret'],
    Labels: {
      [TEST_LABEL]: '1',
      [LABEL_SERVICE]: 'postgres',
      [run.split('=')[0]!]: run.split('=')[1]!,
    },
    HostConfig: { NetworkMode: 'none' },
  })
  made.push(c)
  await c.start()
  const until = Date.now() + 60_000
  // Over TCP, as the stack's health probe: during first-start initialisation the server listens
  // on its socket only, then restarts.
  const ready = async () => {
    const e = await c.exec({
      Cmd: ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres'],
      AttachStdout: true,
      AttachStderr: true,
    })
    const s = await e.start({ hijack: true, stdin: false })
    const chunks: Buffer[] = []
    s.on('data', (b: Buffer) => chunks.push(b))
    await new Promise((r) => s.on('end', r))
    return Buffer.concat(chunks).toString().includes('accepting connections')
  }
  while (!(await ready())) {
    if (Date.now() > until) throw new Error('postgres did not start')
    await new Promise((r) => setTimeout(r, 250))
  }
  return c
}

const sql = (c: Docker.Container, query: string, db?: string) => psql(docker, c.id, query, db)

describe('BTCPay’s database: pg_dumpall in the container, psql on restore', () => {
  it('a fresh database gets back the roles, the database and its rows', async (t) => {
    if (!image) {
      t.skip() // no Debian postgresql on this machine (.ci/run installs it)
      return
    }
    // The box's database as BTCPay leaves it: its own role owning its own database.
    const a = await startPostgres()
    await sql(a, "CREATE ROLE btcpay LOGIN PASSWORD 'btcpay-secret'")
    await sql(a, 'CREATE DATABASE btcpayserverregtest OWNER btcpay')
    await sql(
      a,
      "CREATE TABLE invoices (id text PRIMARY KEY, amount bigint, status text); INSERT INTO invoices SELECT 'inv-' || g, g * 1000, 'settled' FROM generate_series(1, 250) g; ALTER TABLE invoices OWNER TO btcpay",
      'btcpayserverregtest',
    )
    const dump = join(root, 'pg_dumpall.sql')
    expect(await dumpBtcpayDatabase(docker, dump, pick)).toEqual({ file: dump })
    expect(readFileSync(dump, 'utf8')).toContain('CREATE DATABASE btcpayserverregtest')
    await a.remove({ force: true })

    // A fresh install: the stack's first-start script made the empty database, and BTCPay is
    // already connected to it when the import runs.
    const b = await startPostgres()
    await sql(b, "CREATE ROLE btcpay LOGIN PASSWORD 'btcpay-secret'")
    await sql(b, 'CREATE DATABASE btcpayserverregtest OWNER btcpay')
    const busy = await b.exec({
      Cmd: [
        'psql',
        '-X',
        '-U',
        'postgres',
        '-d',
        'btcpayserverregtest',
        '-c',
        'SELECT pg_sleep(120)',
      ],
      AttachStdout: false,
      AttachStderr: false,
    })
    await busy.start({ Detach: true })
    await expect
      .poll(() =>
        sql(b, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'btcpayserverregtest'"),
      )
      .toBe('1')

    expect(await importBtcpayDatabase(docker, dump, pick)).toBe(true)
    expect(existsSync(dump)).toBe(false) // imported once; a restart does not import again
    expect(await sql(b, 'SELECT count(*), sum(amount) FROM invoices', 'btcpayserverregtest')).toBe(
      `250|${(250 * 251 * 1000) / 2}`,
    )
    expect(
      await sql(b, "SELECT datallowconn FROM pg_database WHERE datname = 'btcpayserverregtest'"),
    ).toBe('t')
    expect(await sql(b, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'btcpay'")).toBe('t')
    expect(await importBtcpayDatabase(docker, dump, pick)).toBe(false)
  }, 180_000)

  it('nothing running: the backup part is skipped with the reason, and the import waits', async () => {
    const none = { labels: [`io.flashbox.test.run=${randomUUID()}`] }
    expect(await dumpBtcpayDatabase(docker, join(root, 'x.sql'), none)).toEqual({
      skipped: 'BTCPay’s database was not running, so it was not saved.',
    })
    expect(existsSync(join(root, 'x.sql'))).toBe(false)
    writeFileSync(join(root, 'y.sql'), 'SELECT 1;')
    expect(await importBtcpayDatabase(docker, join(root, 'y.sql'), none)).toBe(false)
    expect(existsSync(join(root, 'y.sql'))).toBe(true) // kept for when the database runs
  })
})
