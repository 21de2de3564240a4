import { describe, expect, it } from 'vitest'
import {
  classifyDockerError,
  detectDocker,
  dockerEndpoints,
  dockerProblem,
  parseDockerHost,
  pickEndpoint,
} from './connect'

describe('DOCKER_HOST and the usual sockets', () => {
  it('parses unix, tcp and npipe hosts as the docker CLI does', () => {
    expect(parseDockerHost('unix:///run/user/1000/docker.sock')).toEqual({
      socketPath: '/run/user/1000/docker.sock',
    })
    expect(parseDockerHost('tcp://10.0.0.2:2375', {})).toEqual({
      host: '10.0.0.2',
      port: 2375,
      protocol: 'http',
    })
    expect(parseDockerHost('192.168.1.5:2376', {})).toMatchObject({ protocol: 'https', port: 2376 })
    expect(parseDockerHost('npipe:////./pipe/docker_engine')).toEqual({
      socketPath: '//./pipe/docker_engine',
    })
    expect(() => parseDockerHost('ssh://me@host', {})).toThrow(/does not support/)
  })

  it('uses DOCKER_HOST alone when set, else Docker then Podman sockets', () => {
    const explicit = dockerEndpoints({ DOCKER_HOST: 'unix:///x.sock' }, 'linux')
    expect(explicit).toHaveLength(1)
    expect(explicit[0]!.explicit).toBe(true)
    const linux = dockerEndpoints({ HOME: '/home/a', XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux')
    const paths = linux.map((e) => e.options.socketPath)
    expect(paths[0]).toBe('/var/run/docker.sock')
    expect(paths).toContain('/run/podman/podman.sock')
    expect(paths).toContain('/run/user/1000/podman/podman.sock')
    expect(paths.indexOf('/var/run/docker.sock')).toBeLessThan(
      paths.indexOf('/run/podman/podman.sock'),
    )
    expect(dockerEndpoints({}, 'win32')[0]!.options.socketPath).toBe('//./pipe/docker_engine')
    // Falls back to the first socket that exists (here: Podman's).
    const picked = pickEndpoint(linux, (p) => p === '/run/user/1000/podman/podman.sock')
    expect(picked.host).toBe('unix:///run/user/1000/podman/podman.sock')
  })

  it('classifies connection errors', () => {
    const e = (code: string) => Object.assign(new Error(code), { code })
    expect(classifyDockerError(e('EACCES'))).toBe('permission-denied')
    expect(classifyDockerError(e('ENOENT'))).toBe('not-running')
    expect(classifyDockerError(e('ECONNREFUSED'))).toBe('not-running')
  })

  it('says how to fix each problem on each OS', () => {
    expect(dockerProblem('not-running', 'linux', 'unix:///var/run/docker.sock').hint).toContain(
      'sudo systemctl start docker',
    )
    expect(dockerProblem('not-running', 'linux', 'h').hint).toContain('podman system service')
    expect(dockerProblem('not-running', 'darwin', 'h').hint).toContain('Docker Desktop')
    expect(dockerProblem('not-running', 'win32', 'h').hint).toContain('Docker Desktop')
    expect(dockerProblem('permission-denied', 'linux', 'h').hint).toContain('usermod -aG docker')
    expect(dockerProblem('permission-denied', 'win32', 'h').hint).toContain('docker-users')
    expect(dockerProblem('not-installed', 'linux', 'h').hint).toContain('apt-get install docker.io')
    expect(dockerProblem('not-installed', 'darwin', 'h').hint).toContain('Docker Desktop for Mac')
    expect(dockerProblem('not-installed', 'win32', 'h').hint).toContain('WSL 2')
  })

  it('reports "not installed" when no socket and no docker/podman binary exist', async () => {
    const s = await detectDocker({
      env: { PATH: '/nonexistent', HOME: '/nonexistent-home' },
      platform: 'darwin',
    })
    // /var/run/docker.sock may exist on this machine; then the engine answers or is "not running".
    if (s.state === 'not-installed') {
      expect(s.problem?.code).toBe('docker.not_installed')
      expect(s.problem?.hint).toContain('Docker Desktop for Mac')
    } else expect(['running', 'not-running']).toContain(s.state)
  })
})
