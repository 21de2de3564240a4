// A TEST catalog with the production wiring shape (dependencies gated on health, probes, bind
// mounts, ports, stop grace) over the local lifecycle image instead of the real daemons.
// Everything it makes is labelled io.flashbox.test=1.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ContainerSpec, ServiceId, StackPlan } from '../../src/core/stack/spec'
import { buildTestImage, TEST_LABEL, type BuiltImage } from './build'

const here = dirname(fileURLToPath(import.meta.url))

export const testLabels = { [TEST_LABEL]: '1' } as const

/** The lifecycle image: /app/service.mjs (daemon stand-in) and /app/health.mjs (its probe). */
export function buildLifecycleImage(): BuiltImage {
  return buildTestImage('lifecycle', {
    files: {
      '/app/service.mjs': readFileSync(join(here, 'lifecycle', 'service.mjs')),
      '/app/health.mjs': readFileSync(join(here, 'lifecycle', 'health.mjs')),
    },
    cmd: ['/usr/local/bin/node', '/app/service.mjs'],
  })
}

export interface TestServiceOptions {
  readonly id: ServiceId
  readonly dependsOn?: readonly ServiceId[]
  readonly readyAfterMs?: number
  readonly stopDelayMs?: number
  readonly stopGraceSeconds?: number
  readonly crashAfterMs?: number
  readonly hostPort?: number
  readonly env?: Readonly<Record<string, string>>
}

export function testService(
  image: BuiltImage,
  dataDir: string,
  o: TestServiceOptions,
): ContainerSpec {
  const env: Record<string, string> = {
    SERVICE_NAME: o.id,
    DATA_DIR: '/data',
    READY_AFTER_MS: String(o.readyAfterMs ?? 500),
    STOP_DELAY_MS: String(o.stopDelayMs ?? 0),
    ...(o.crashAfterMs !== undefined ? { CRASH_AFTER_MS: String(o.crashAfterMs) } : {}),
    ...(o.hostPort !== undefined ? { PORT: '8080' } : {}),
    ...o.env,
  }
  return {
    id: o.id,
    displayName: `Test ${o.id}`,
    description: `Test stand-in for ${o.id} (lifecycle simulator).`,
    image: { repository: image.repository, tag: image.version, digest: image.id, builtHere: true },
    command: ['/usr/local/bin/node', '/app/service.mjs'],
    env,
    ports:
      o.hostPort !== undefined
        ? [{ container: 8080, host: o.hostPort, protocol: 'tcp', purpose: `${o.id} test HTTP` }]
        : [],
    mounts: [{ kind: 'bind', source: join(dataDir, o.id), target: '/data' }],
    files: [
      {
        hostPath: join(dataDir, 'config', `${o.id}.conf`),
        contents: `# test config for ${o.id}\nname=${o.id}\n`,
        mode: 0o600,
        secret: false,
      },
    ],
    health: {
      test: ['CMD', '/usr/local/bin/node', '/app/health.mjs'],
      intervalMs: 1000,
      timeoutMs: 5000,
      retries: 3,
      startPeriodMs: 30_000,
    },
    dependsOn: (o.dependsOn ?? []).map((id) => ({ id, condition: 'healthy' as const })),
    stopGraceSeconds: o.stopGraceSeconds ?? 10,
    hostname: o.id,
  }
}

export function testPlan(
  project: string,
  dataDir: string,
  services: readonly ContainerSpec[],
): StackPlan {
  return {
    project,
    network: 'regtest',
    dataDir,
    dockerNetwork: `${project}-net`,
    services,
  }
}

/** The usual shape: bitcoind ← electrs, lnd ← mint (each gated on its dependency's health). */
export function standardTestPlan(
  project: string,
  dataDir: string,
  image: BuiltImage,
  tweak: Partial<Record<ServiceId, Partial<TestServiceOptions>>> = {},
): StackPlan {
  const s = (o: TestServiceOptions) => testService(image, dataDir, { ...o, ...tweak[o.id] })
  return testPlan(project, dataDir, [
    s({ id: 'bitcoind', readyAfterMs: 1500, stopDelayMs: 1500, stopGraceSeconds: 20 }),
    s({ id: 'electrs', dependsOn: ['bitcoind'], readyAfterMs: 300 }),
    s({ id: 'lnd', dependsOn: ['bitcoind'], readyAfterMs: 800, stopDelayMs: 500 }),
    s({ id: 'mint', dependsOn: ['lnd'], readyAfterMs: 200 }),
  ])
}
