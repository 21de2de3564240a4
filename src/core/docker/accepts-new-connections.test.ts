import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { afterAll, describe, expect, it } from 'vitest'
import { acceptsNewConnections } from './accepts-new-connections'

const dir = mkdtempSync(join(tmpdir(), 'fb-accepts-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const listen = (server: Server, path: string) =>
  new Promise<void>((r) => server.listen(path, () => r()))

describe('acceptsNewConnections', () => {
  it('resolves while the socket listens and rejects once the listener is closed', async () => {
    const path = join(dir, 'docker.sock')
    const server = createServer((c) => c.end())
    await listen(server, path)
    const docker = new Docker({ socketPath: path })
    await expect(acceptsNewConnections(docker)).resolves.toBeUndefined()
    await new Promise((r) => server.close(r))
    await expect(acceptsNewConnections(docker)).rejects.toMatchObject({
      code: expect.stringMatching(/^(ECONNREFUSED|ENOENT)$/),
    })
  })

  it('rejects when nothing listens on the TCP port', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    await new Promise((r) => server.close(r))
    const docker = new Docker({ host: '127.0.0.1', port, protocol: 'http' })
    await expect(acceptsNewConnections(docker)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
