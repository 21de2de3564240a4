// Where the relay/mint image's C library comes from, decided by the computer and Docker's engine
// architecture, and the Dockerfile rendered for a base image. (The build itself, against the real
// engine: tests/integration/service-image-build.test.ts.)
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { glibcBaseImage } from '../stack/images'
import { defaultBaseImage, glibcSource, renderDockerfile } from './service-image-build'

const root = resolve(import.meta.dirname, '../../..')

describe('the glibc of the box’s own service images', () => {
  it('comes from this computer only when it is Linux on the engine’s architecture', () => {
    expect(glibcSource({ platform: 'linux', arch: 'x64' }, 'x64')).toBe('host-libraries')
    expect(glibcSource({ platform: 'linux', arch: 'arm64' }, 'arm64')).toBe('host-libraries')
    // Docker Desktop on a Mac (Apple silicon, Intel) and on Windows: a Linux VM.
    expect(glibcSource({ platform: 'darwin', arch: 'arm64' }, 'arm64')).toBe('base-image')
    expect(glibcSource({ platform: 'darwin', arch: 'x64' }, 'x64')).toBe('base-image')
    expect(glibcSource({ platform: 'win32', arch: 'x64' }, 'x64')).toBe('base-image')
    // Linux, but the engine is another architecture (a remote or emulated engine).
    expect(glibcSource({ platform: 'linux', arch: 'x64' }, 'arm64')).toBe('base-image')
  })

  it('the base image is the catalog’s Debian slim, pinned by digest', () => {
    expect(defaultBaseImage).toBe(`docker.io/library/debian@${glibcBaseImage.digest}`)
    expect(glibcBaseImage.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it.each(['relay', 'mint'])(
    'renders docker/%s/Dockerfile FROM the base image, the rest unchanged',
    (id) => {
      const source = readFileSync(join(root, 'docker', id, 'Dockerfile'), 'utf8')
      const out = renderDockerfile(source, defaultBaseImage)
      const from = out.split('\n').filter((l) => l.startsWith('FROM '))
      expect(from).toEqual([`FROM ${defaultBaseImage}`])
      expect(out.replace(`FROM ${defaultBaseImage}`, 'FROM scratch')).toBe(source)
      expect(renderDockerfile(source, null)).toBe(source)
    },
  )
})
