// A Tor control socket answering as tor 0.4.9 does (cookie AUTHENTICATE, GETINFO
// status/bootstrap-phase uptime, QUIT), for unit tests. The real tor:
// tests/integration/tor-onion.test.ts.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import type { TorControlFiles } from '../../src/core/reach/tor-control'

export interface FakeTorControl {
  /** Every line a client sent. */
  readonly heard: string[]
  /** What `status/bootstrap-phase` answers from now on. */
  phase: string
  close(): Promise<void>
}

export async function fakeTorControl(
  files: TorControlFiles,
  cookie: Buffer,
  phase: string,
  uptimeSeconds = 42,
): Promise<FakeTorControl> {
  mkdirSync(dirname(files.socket), { recursive: true })
  writeFileSync(files.cookie, cookie)
  const fake = { heard: [] as string[], phase, close: async () => {} }
  const server = createServer((sock) => {
    let buf = ''
    let authed = false
    sock.on('data', (d) => {
      buf += d.toString()
      let nl: number
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 2)
        fake.heard.push(line)
        if (line.startsWith('AUTHENTICATE ')) {
          authed = line.slice(13) === cookie.toString('hex')
          if (!authed) {
            sock.end('515 Authentication failed: Wrong length on authentication cookie.\r\n')
            return
          }
          sock.write('250 OK\r\n')
        } else if (!authed) {
          sock.end('514 Authentication required.\r\n')
          return
        } else if (line === 'GETINFO status/bootstrap-phase uptime')
          sock.write(
            `250-status/bootstrap-phase=${fake.phase}\r\n250-uptime=${uptimeSeconds}\r\n250 OK\r\n`,
          )
        else if (line === 'QUIT') sock.end('250 closing connection\r\n')
      }
    })
  })
  await new Promise<void>((r) => server.listen(files.socket, r))
  fake.close = () => new Promise<void>((r) => server.close(() => r()))
  return fake
}
