// Finding and talking to a Docker-compatible engine: DOCKER_HOST first (unix://, tcp://,
// npipe://, as the docker CLI reads it), then the usual sockets of Docker Engine, Docker Desktop
// and Podman's Docker-compatible service. `detectDocker()` turns every way this can fail into a
// plain-words problem with what to do on this OS.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import Docker from 'dockerode'
import type { DockerOptions } from 'dockerode'
import type { DockerState, DockerStatus } from '../../shared/api/stack'
import type { UserError } from '../../shared/errors'

export type HostOs = DockerStatus['os']

export function hostOs(platform: NodeJS.Platform = process.platform): HostOs {
  return platform === 'linux' || platform === 'darwin' || platform === 'win32' ? platform : 'other'
}

export interface DockerEndpoint {
  /** As the docker CLI would print it, e.g. `unix:///var/run/docker.sock`. */
  readonly host: string
  readonly options: DockerOptions
  /** True when the user chose it with DOCKER_HOST (then we never fall back to others). */
  readonly explicit: boolean
}

export interface EndpointEnv {
  readonly DOCKER_HOST?: string
  readonly DOCKER_TLS_VERIFY?: string
  readonly DOCKER_CERT_PATH?: string
  readonly XDG_RUNTIME_DIR?: string
  readonly HOME?: string
}

/** Parses a DOCKER_HOST value into dockerode options. Throws a FlashError-shaped Error on junk. */
export function parseDockerHost(value: string, env: EndpointEnv = process.env): DockerOptions {
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length) }
  if (value.startsWith('npipe://')) {
    return { socketPath: value.slice('npipe://'.length) || '//./pipe/docker_engine' }
  }
  const withScheme = value.includes('://') ? value : `tcp://${value}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new Error(`DOCKER_HOST "${value}" is not an address like tcp://127.0.0.1:2375`)
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`DOCKER_HOST "${value}" uses ${url.protocol}, which Flash Box does not support`)
  }
  const tls = env.DOCKER_TLS_VERIFY === '1' || url.protocol === 'https:' || url.port === '2376'
  const opts: DockerOptions = {
    host: url.hostname,
    port: Number(url.port || (tls ? 2376 : 2375)),
    protocol: tls ? 'https' : 'http',
  }
  if (tls && env.DOCKER_CERT_PATH) {
    opts.ca = readFileSync(join(env.DOCKER_CERT_PATH, 'ca.pem'))
    opts.cert = readFileSync(join(env.DOCKER_CERT_PATH, 'cert.pem'))
    opts.key = readFileSync(join(env.DOCKER_CERT_PATH, 'key.pem'))
  }
  return opts
}

/** Every endpoint worth trying, in order. */
export function dockerEndpoints(
  env: EndpointEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): DockerEndpoint[] {
  if (env.DOCKER_HOST) {
    return [
      { host: env.DOCKER_HOST, options: parseDockerHost(env.DOCKER_HOST, env), explicit: true },
    ]
  }
  if (platform === 'win32') {
    return [
      {
        host: 'npipe:////./pipe/docker_engine',
        options: { socketPath: '//./pipe/docker_engine' },
        explicit: false,
      },
      {
        host: 'npipe:////./pipe/podman-machine-default',
        options: { socketPath: '//./pipe/podman-machine-default' },
        explicit: false,
      },
    ]
  }
  const home = env.HOME ?? homedir()
  const sockets = [
    '/var/run/docker.sock',
    join(home, '.docker', 'run', 'docker.sock'), // Docker Desktop 4.13+ (macOS, Linux)
    join(home, '.docker', 'desktop', 'docker.sock'),
    '/run/podman/podman.sock', // Podman, rootful: `sudo systemctl enable --now podman.socket`
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock')] : []),
    join(home, '.local', 'share', 'containers', 'podman', 'machine', 'podman.sock'), // macOS
  ]
  return sockets.map((p) => ({ host: `unix://${p}`, options: { socketPath: p }, explicit: false }))
}

/** The first endpoint whose socket exists (tcp endpoints always "exist"); else the first one. */
export function pickEndpoint(
  endpoints: readonly DockerEndpoint[],
  exists: (p: string) => boolean = existsSync,
): DockerEndpoint {
  for (const e of endpoints) {
    const p = e.options.socketPath
    if (typeof p !== 'string' || p.startsWith('//./pipe/') || exists(p)) return e
  }
  return endpoints[0]!
}

export function createDockerClient(endpoint: DockerEndpoint): Docker {
  return new Docker({ ...endpoint.options, timeout: undefined })
}

function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : ['']
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    for (const ext of exts) {
      try {
        accessSync(join(dir, name + ext), constants.X_OK)
        return true
      } catch {
        // not here
      }
    }
  }
  return false
}

/** How to fix a Docker problem, per OS, in plain words. */
export function dockerProblem(
  state: Exclude<DockerState, 'running'>,
  os: HostOs,
  host: string,
): UserError {
  switch (state) {
    case 'not-installed':
      return {
        code: 'docker.not_installed',
        message:
          'Docker is not installed on this computer. Flash Box runs Bitcoin Core, LND and the other services in Docker containers.',
        hint:
          os === 'linux'
            ? 'Install Docker Engine (Debian/Ubuntu: `sudo apt-get install docker.io`, then `sudo systemctl enable --now docker`), or Podman with `podman system service` / `systemctl --user enable --now podman.socket`. Then press "Check again".'
            : os === 'darwin'
              ? 'Install Docker Desktop for Mac from docker.com (or Podman Desktop), open it once, then press "Check again".'
              : os === 'win32'
                ? 'Install Docker Desktop for Windows from docker.com (it uses WSL 2), open it once, then press "Check again".'
                : 'Install Docker (or Podman with its Docker-compatible service), then press "Check again".',
      }
    case 'not-running':
      return {
        code: 'docker.not_running',
        message: `Docker is installed but not running (nothing answers at ${host}).`,
        hint:
          os === 'linux'
            ? 'Start it with `sudo systemctl start docker` (and `sudo systemctl enable docker` so it starts at boot). With Podman: `podman system service --time=0 &` or `systemctl --user start podman.socket`. If you set DOCKER_HOST, check that it points to the right socket. Then press "Check again".'
            : os === 'darwin'
              ? 'Open Docker Desktop from Applications and wait until the whale icon says "Docker Desktop is running" (with Podman: `podman machine start`). Then press "Check again".'
              : os === 'win32'
                ? 'Start Docker Desktop from the Start menu and wait until it says "Engine running" (with Podman: `podman machine start`). Then press "Check again".'
                : 'Start the Docker service, then press "Check again".',
      }
    case 'permission-denied':
      return {
        code: 'docker.permission_denied',
        message: `Flash Box is not allowed to use Docker (permission denied at ${host}).`,
        hint:
          os === 'linux'
            ? 'Add your user to the docker group: `sudo usermod -aG docker $USER`, then log out and back in (or run `newgrp docker`). With rootless Podman, use its user socket: `systemctl --user enable --now podman.socket`. Then press "Check again".'
            : os === 'win32'
              ? 'Add your account to the "docker-users" group (Computer Management → Local Users and Groups), sign out and in again, then press "Check again".'
              : 'Restart Docker Desktop and allow it the permissions it asks for, then press "Check again".',
      }
  }
}

export function classifyDockerError(err: unknown): Exclude<DockerState, 'running'> | 'other' {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'EACCES' || code === 'EPERM') return 'permission-denied'
  if (
    code === 'ENOENT' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EHOSTUNREACH' ||
    code === 'ETIMEDOUT' ||
    code === 'ENOTFOUND'
  )
    return 'not-running'
  return 'other'
}

export interface DetectOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly platform?: NodeJS.Platform
  readonly timeoutMs?: number
}

export interface DetectedDocker {
  readonly status: DockerStatus
  readonly endpoint: DockerEndpoint
  /** Set when the engine answers. */
  readonly client?: Docker
}

/** Finds the engine and says, in plain words, what is wrong when it cannot be used. */
export async function detectDockerEngine(opts: DetectOptions = {}): Promise<DetectedDocker> {
  const env = opts.env ?? process.env
  const os = hostOs(opts.platform)
  let endpoints: DockerEndpoint[]
  try {
    endpoints = dockerEndpoints(env, opts.platform)
  } catch (err) {
    const host = env.DOCKER_HOST ?? ''
    return {
      endpoint: { host, options: {}, explicit: true },
      status: {
        state: 'not-running',
        host,
        os,
        problem: {
          code: 'docker.bad_host',
          message: (err as Error).message,
          hint: 'Fix or unset DOCKER_HOST (e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375), then press "Check again".',
        },
      },
    }
  }
  const endpoint = pickEndpoint(endpoints)
  const client = new Docker({ ...endpoint.options, timeout: opts.timeoutMs ?? 5000 })
  try {
    const version = (await client.version()) as {
      Version?: string
      Components?: { Name: string }[]
    }
    const isPodman = version.Components?.some((c) => /podman/i.test(c.Name)) ?? false
    return {
      endpoint,
      client: createDockerClient(endpoint),
      status: {
        state: 'running',
        version: isPodman ? `${version.Version ?? '?'} (Podman)` : version.Version,
        host: endpoint.host,
        os,
      },
    }
  } catch (err) {
    let state = classifyDockerError(err)
    const socketPath = endpoint.options.socketPath
    const socketMissing =
      typeof socketPath === 'string' &&
      !socketPath.startsWith('//./pipe/') &&
      !existsSync(socketPath)
    if (state === 'other') state = 'not-running'
    if (
      state === 'not-running' &&
      socketMissing &&
      !endpoint.explicit &&
      !['docker', 'dockerd', 'podman', 'com.docker.backend'].some((n) => onPath(n, env))
    ) {
      state = 'not-installed'
    }
    return {
      endpoint,
      status: { state, host: endpoint.host, os, problem: dockerProblem(state, os, endpoint.host) },
    }
  }
}

export async function detectDocker(opts: DetectOptions = {}): Promise<DockerStatus> {
  return (await detectDockerEngine(opts)).status
}
