import { describe, expect, it } from 'vitest'
import type { ContainerSpec } from '../stack/spec'
import { specHash } from './labels'

const spec: ContainerSpec = {
  id: 'bitcoind',
  displayName: 'Bitcoin Core',
  description: 'The node.',
  image: { repository: 'x/bitcoind', tag: '1', digest: `sha256:${'a'.repeat(64)}` },
  command: ['bitcoind'],
  env: { A: '1', B: '2' },
  ports: [],
  mounts: [],
  files: [{ hostPath: '/d/bitcoin.conf', contents: 'x=1', mode: 0o600, secret: true }],
  health: {
    test: ['CMD', 'true'],
    intervalMs: 1000,
    timeoutMs: 1000,
    retries: 3,
    startPeriodMs: 0,
  },
  dependsOn: [],
  stopGraceSeconds: 600,
  hostname: 'bitcoind',
}

describe('spec hash', () => {
  it('is stable across key order and ignores display text', () => {
    const reordered = { ...spec, env: { B: '2', A: '1' }, displayName: 'Bitcoin Core (renamed)' }
    expect(specHash(reordered, 'net')).toBe(specHash(spec, 'net'))
  })

  it('changes with anything that shapes the container', () => {
    const h = specHash(spec, 'net')
    expect(specHash({ ...spec, env: { A: '1', B: '3' } }, 'net')).not.toBe(h)
    expect(specHash({ ...spec, stopGraceSeconds: 60 }, 'net')).not.toBe(h)
    expect(specHash({ ...spec, files: [{ ...spec.files[0]!, contents: 'x=2' }] }, 'net')).not.toBe(
      h,
    )
    expect(
      specHash({ ...spec, image: { ...spec.image, digest: `sha256:${'b'.repeat(64)}` } }, 'net'),
    ).not.toBe(h)
    expect(specHash(spec, 'other-net')).not.toBe(h)
  })
})
