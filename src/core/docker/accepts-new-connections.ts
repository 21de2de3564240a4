// Whether the Docker daemon still takes new connections. A daemon that is shutting down closes
// its listener first and keeps serving the connections it already has (a client's kept-alive
// sockets), so a request over those can still succeed while the daemon is on its way out.
import { connect } from 'node:net'
import type Docker from 'dockerode'

/**
 * Resolves when the Docker daemon accepts a NEW connection (a fresh socket, not the client's
 * kept-alive ones); rejects with the connection error (ECONNREFUSED, ENOENT …) when it does not,
 * as a daemon that is shutting down does. Only the local socket and plain TCP are checked.
 */
export function acceptsNewConnections(docker: Docker, timeoutMs = 5000): Promise<void> {
  const m = docker.modem as unknown as {
    socketPath?: string
    host?: string
    port?: string | number
    protocol?: string
  }
  const target = m.socketPath
    ? { path: m.socketPath }
    : m.host && m.port && m.protocol !== 'ssh'
      ? { host: m.host, port: Number(m.port) }
      : undefined
  if (!target) return Promise.resolve()
  return new Promise((resolveCheck, reject) => {
    const sock = connect(target)
    const timer = setTimeout(() => {
      sock.destroy()
      resolveCheck() // slow but not refused: let the real request decide
    }, timeoutMs)
    sock.once('connect', () => {
      clearTimeout(timer)
      sock.destroy()
      resolveCheck()
    })
    sock.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}
