// BTCPay's database in a backup: `pg_dumpall` run inside the box's running postgres container
// (the database files themselves are never copied while in use). When the container is not
// running the part is skipped, and the manifest says so.
import { createWriteStream } from 'node:fs'
import { PassThrough } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type Docker from 'dockerode'
import { LABEL_SERVICE } from '../supervisor/labels'

export async function dumpBtcpayDatabase(
  docker: Docker | undefined,
  destFile: string,
): Promise<{ file: string } | { skipped: string }> {
  if (!docker) return { skipped: 'Docker is not reachable, so BTCPay’s database was not saved.' }
  let containers: Docker.ContainerInfo[]
  try {
    containers = await docker.listContainers({
      filters: { label: [`${LABEL_SERVICE}=postgres`], status: ['running'] },
    })
  } catch {
    return { skipped: 'Docker is not reachable, so BTCPay’s database was not saved.' }
  }
  const c = containers[0]
  if (!c) return { skipped: 'BTCPay’s database was not running, so it was not saved.' }
  const exec = await docker.getContainer(c.Id).exec({
    Cmd: ['pg_dumpall', '--clean', '--if-exists', '-U', 'postgres'],
    AttachStdout: true,
    AttachStderr: true,
  })
  const stream = await exec.start({ hijack: true, stdin: false })
  const out = new PassThrough()
  const err = new PassThrough()
  const errText: Buffer[] = []
  err.on('data', (b: Buffer) => errText.push(b))
  docker.modem.demuxStream(stream, out, err)
  stream.on('end', () => {
    out.end()
    err.end()
  })
  await pipeline(out, createWriteStream(destFile, { mode: 0o600 }))
  const info = await exec.inspect()
  if (info.ExitCode !== 0) {
    return {
      skipped: `pg_dumpall failed in BTCPay’s database container (exit ${info.ExitCode ?? '?'}), so it was not saved.`,
    }
  }
  return { file: destFile }
}
