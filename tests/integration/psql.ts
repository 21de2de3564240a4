// psql inside a running postgres container, for the tests that look at BTCPay's database; runs
// through the backup's own docker-exec helper.
import { PassThrough } from 'node:stream'
import type Docker from 'dockerode'
import { execIn } from '../../src/core/backup/btcpay-dump'

/** One query, tuples only, unaligned; the output trimmed. Throws psql's stderr on failure. */
export async function psql(
  docker: Docker,
  containerId: string,
  query: string,
  db = 'postgres',
): Promise<string> {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (b: Buffer) => chunks.push(b))
  const cmd = ['psql', '-X', '-q', '-t', '-A', '-U', 'postgres', '-d', db]
  const r = await execIn(docker, containerId, [...cmd, '-v', 'ON_ERROR_STOP=1', '-c', query], out)
  if (r.exitCode !== 0) throw new Error(r.stderr)
  return Buffer.concat(chunks).toString().trim()
}
