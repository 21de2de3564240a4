// BTCPay's database in a backup: `pg_dumpall` run inside the box's running postgres container
// (the database files themselves are never copied while in use). When the container is not
// running the part is skipped, and the manifest says so.
//
// On restore the dump lands in the stack's folder (stack/btcpay/pg_dumpall.sql) and is fed to
// `psql` in the postgres container once it runs (importBtcpayDatabase): connections to BTCPay's
// and NBXplorer's databases are closed and refused first, so the dump's DROP DATABASE goes
// through even if BTCPay started before the import; the dump then recreates them with the
// backed-up roles and data, and BTCPay reconnects. The file is removed after a clean import and
// kept for the next try otherwise.
import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs'
import { PassThrough, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type Docker from 'dockerode'
import { FlashError } from '../errors'
import { LABEL_SERVICE } from '../supervisor/labels'

/** Extra labels a test uses to pick its own container on a shared engine. */
export interface PostgresPick {
  readonly labels?: readonly string[]
}

async function runningPostgres(
  docker: Docker,
  pick: PostgresPick,
): Promise<Docker.ContainerInfo | undefined> {
  const containers = await docker.listContainers({
    filters: { label: [`${LABEL_SERVICE}=postgres`, ...(pick.labels ?? [])], status: ['running'] },
  })
  return containers[0]
}

/** Runs `cmd` in a container, its stdout piped to `stdout`; stderr and the exit code come back. */
export async function execIn(
  docker: Docker,
  id: string,
  cmd: string[],
  stdout: NodeJS.WritableStream,
  stdin?: Readable,
): Promise<{ exitCode: number | null; stderr: string }> {
  const exec = await docker.getContainer(id).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: !!stdin,
  })
  const stream = await exec.start({ hijack: true, stdin: !!stdin })
  const out = new PassThrough()
  const err = new PassThrough()
  const errText: Buffer[] = []
  err.on('data', (b: Buffer) => errText.push(b))
  docker.modem.demuxStream(stream, out, err)
  stream.on('end', () => {
    out.end()
    err.end()
  })
  // psql reads to the end of its input; ending our side closes its stdin.
  if (stdin) stdin.pipe(stream)
  await pipeline(out, stdout)
  const info = await exec.inspect()
  return { exitCode: info.ExitCode ?? null, stderr: Buffer.concat(errText).toString('utf8') }
}

export async function dumpBtcpayDatabase(
  docker: Docker | undefined,
  destFile: string,
  pick: PostgresPick = {},
): Promise<{ file: string } | { skipped: string }> {
  if (!docker) return { skipped: 'Docker is not reachable, so BTCPay’s database was not saved.' }
  let c: Docker.ContainerInfo | undefined
  try {
    c = await runningPostgres(docker, pick)
  } catch {
    return { skipped: 'Docker is not reachable, so BTCPay’s database was not saved.' }
  }
  if (!c) return { skipped: 'BTCPay’s database was not running, so it was not saved.' }
  const r = await execIn(
    docker,
    c.Id,
    ['pg_dumpall', '--clean', '--if-exists', '-U', 'postgres'],
    createWriteStream(destFile, { mode: 0o600 }),
  )
  if (r.exitCode !== 0) {
    rmSync(destFile, { force: true })
    return {
      skipped: `pg_dumpall failed in BTCPay’s database container (exit ${r.exitCode ?? '?'}), so it was not saved.`,
    }
  }
  return { file: destFile }
}

/** Closes and refuses connections to every database but `postgres` and the templates. */
const CLOSE_CONNECTIONS = `
DO $$
DECLARE d record;
BEGIN
  FOR d IN SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' LOOP
    EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS false', d.datname);
  END LOOP;
END $$;
SELECT count(pg_terminate_backend(pid)) AS closed FROM pg_stat_activity
  WHERE pid <> pg_backend_pid() AND backend_type = 'client backend';
`

/** A database the dump did not recreate takes connections again. */
const REOPEN_CONNECTIONS = `
DO $$
DECLARE d record;
BEGIN
  FOR d IN SELECT datname FROM pg_database WHERE NOT datallowconn AND NOT datistemplate LOOP
    EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS true', d.datname);
  END LOOP;
END $$;
`

/**
 * pg_dumpall --clean drops and recreates every role, including the one psql runs as: these two
 * refusals are expected and harmless. Any other error means the import is not complete.
 */
const EXPECTED_ERRORS = [
  /current user cannot be dropped/,
  /role "postgres" already exists/,
  /database "postgres" already exists/,
]

export function btcpayImportFailed(detail: string): FlashError {
  return new FlashError(
    'backup.btcpay_import_failed',
    `BTCPay’s database from the backup could not be put back: ${detail}`,
    'Flash Box tries again when BTCPay’s database runs. If this stays, see Settings → Diagnostics.',
  )
}

/**
 * Feeds a restored pg_dumpall file to psql in the running postgres container. Returns false when
 * there is nothing to import or the database is not running yet (try again later).
 */
export async function importBtcpayDatabase(
  docker: Docker | undefined,
  dumpFile: string,
  pick: PostgresPick = {},
): Promise<boolean> {
  if (!docker || !existsSync(dumpFile)) return false
  const c = await runningPostgres(docker, pick).catch(() => undefined)
  if (!c) return false
  const input = Readable.from(
    (async function* () {
      yield Buffer.from(CLOSE_CONNECTIONS)
      for await (const chunk of createReadStream(dumpFile)) yield chunk as Buffer
      // pg_dumpall ends with \\unrestrict; the connection is back on the last database it named.
      yield Buffer.from('\n\\connect postgres\n' + REOPEN_CONNECTIONS)
    })(),
  )
  const sink = new PassThrough()
  sink.resume()
  const r = await execIn(
    docker,
    c.Id,
    ['psql', '-X', '-q', '-U', 'postgres', '-d', 'postgres', '-f', '-'],
    sink,
    input,
  )
  const errors = r.stderr
    .split('\n')
    .filter((l) => /\bERROR:/.test(l))
    .filter((l) => !EXPECTED_ERRORS.some((e) => e.test(l)))
  if (r.exitCode !== 0 || errors.length > 0) {
    throw btcpayImportFailed(
      errors[0]?.replace(/^.*ERROR:\s*/, '') ?? `psql exited with ${r.exitCode ?? '?'}`,
    )
  }
  rmSync(dumpFile, { force: true })
  return true
}
