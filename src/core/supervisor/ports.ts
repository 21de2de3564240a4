// A host port must be free before a container is created to publish it; otherwise the user is
// told which port, for which service, and how to find what holds it.
import { createServer } from 'node:net'
import { FlashError } from '../errors'
import type { ContainerSpec } from '../stack/spec'

export function isPortFree(
  port: number,
  host = '127.0.0.1',
  protocol: 'tcp' | 'udp' = 'tcp',
): Promise<boolean> {
  if (protocol === 'udp') return Promise.resolve(true) // only TCP ports are published by the stack
  return new Promise((resolve) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)))
  })
}

export function portTakenError(port: number, purpose: string, serviceName: string): FlashError {
  return new FlashError(
    'stack.port_taken',
    `Port ${port} (${purpose}, for ${serviceName}) is already used by another program, so ${serviceName} cannot start.`,
    `Close the program that uses port ${port} — find it with \`sudo ss -ltnp 'sport = :${port}'\` on Linux, \`lsof -nP -iTCP:${port} -sTCP:LISTEN\` on macOS, or \`netstat -ano | findstr :${port}\` on Windows — or choose another port in Settings, then start again.`,
  )
}

/**
 * Throws `stack.port_taken` for the first published port that is not free, and for the first
 * address a host-network service binds itself (the front door on the LAN) that another program
 * holds: otherwise that service would only crash with "address already in use" in its log.
 */
export async function assertPortsFree(spec: ContainerSpec): Promise<void> {
  for (const p of spec.ports) {
    if (p.host === undefined) continue
    if (!(await isPortFree(p.host, p.hostIp ?? '127.0.0.1', p.protocol))) {
      throw portTakenError(p.host, p.purpose, spec.displayName)
    }
  }
  if (spec.networkMode !== 'host') return
  for (const l of spec.hostListens ?? []) {
    if (await heldByAnother(l.port, l.address || '0.0.0.0')) {
      throw portTakenError(l.port, l.purpose, spec.displayName)
    }
  }
}

/**
 * Only "in use" counts: below 1024 the container gets the right to bind (NET_BIND_SERVICE) that
 * this process may lack, and an address that is gone is reported by LAN mode itself.
 */
function heldByAnother(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'))
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(false)))
  })
}
