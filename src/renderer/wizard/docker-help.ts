// How to get Docker going, per operating system, in plain words.
import type { DockerStatus } from '../../shared/api/stack'

export interface DockerHelp {
  readonly title: string
  readonly steps: readonly string[]
  /** Commands to type, when the OS has a terminal answer. */
  readonly commands: readonly string[]
}

export function dockerHelp(d: DockerStatus): DockerHelp | null {
  if (d.state === 'running') return null
  const os = d.os
  if (d.state === 'not-installed') {
    if (os === 'darwin')
      return {
        title: 'Install Docker Desktop for Mac',
        steps: [
          'Download Docker Desktop from docker.com (choose Apple chip or Intel chip to match your Mac).',
          'Open the downloaded file and drag Docker to Applications.',
          'Open Docker once and wait until it says “Engine running”.',
        ],
        commands: [],
      }
    if (os === 'win32')
      return {
        title: 'Install Docker Desktop for Windows',
        steps: [
          'Download Docker Desktop for Windows from docker.com.',
          'Run the installer and keep “Use WSL 2” selected. Restart when it asks.',
          'Open Docker Desktop and wait until it says “Engine running”.',
        ],
        commands: [],
      }
    return {
      title: 'Install Docker Engine',
      steps: [
        'Open a terminal and install Docker with your package manager (Debian and Ubuntu shown).',
        'Start it, and let your user talk to it. Then log out and back in.',
      ],
      commands: [
        'sudo apt install docker.io',
        'sudo systemctl enable --now docker',
        'sudo usermod -aG docker $USER',
      ],
    }
  }
  if (d.state === 'not-running') {
    if (os === 'darwin' || os === 'win32')
      return {
        title: 'Start Docker Desktop',
        steps: ['Open Docker Desktop and wait until it says “Engine running”.'],
        commands: [],
      }
    return {
      title: 'Start Docker',
      steps: ['Docker is installed but not running. Start it in a terminal:'],
      commands: ['sudo systemctl start docker'],
    }
  }
  return {
    title: 'Let Flash Box use Docker',
    steps:
      os === 'linux'
        ? [
            'Your user is not allowed to talk to Docker. Add it to the “docker” group, then log out and back in:',
          ]
        : ['Flash Box is not allowed to use Docker. Restart Docker Desktop and try again.'],
    commands: os === 'linux' ? ['sudo usermod -aG docker $USER'] : [],
  }
}
