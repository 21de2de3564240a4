// TEST images of the simulated world: one image holding every simulator bundle
// (tests/simulators/bundle.ts) on the FROM-scratch node base, and the box's PRODUCTION stack plan
// (src/core/stack: rendered bitcoin.conf / electrs config.toml / lnd.conf, rpcauth per consumer,
// the box's LND TLS certificate and macaroons, mounts, hostnames, the private network, start
// order gated on health) moved onto it. Per service only three things change: the image, the
// entrypoint (node running that daemon's simulator, which takes the daemon's own command line and
// config files) and the health probe (the simulators' healthcheck.mjs instead of bitcoin-cli/
// bash, which the image does not have). Published ports are moved to free host ports so parallel
// tests do not collide. The containers share ONE chain: the bitcoind simulator holds it; electrs
// and LND simulators follow it over bitcoind's JSON-RPC, as the real daemons do.
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { ContainerSpec, PinnedImage, ServiceId, StackPlan } from '../../src/core/stack/spec'
import { bundleSimulators, SIMULATOR_IMAGE_DIR, simulatorImageFiles } from '../simulators/bundle'
import { buildTestImage, type BuiltImage } from './build'

export function buildWorldImage(bundleDir: string): BuiltImage {
  return buildTestImage('world-simulators', {
    files: simulatorImageFiles(bundleSimulators(join(bundleDir, 'simulators'))),
    cmd: ['/usr/local/bin/node'],
  })
}

export function pinned(image: BuiltImage): PinnedImage {
  return { repository: image.repository, tag: image.version, digest: image.id, builtHere: true }
}

const node = '/usr/local/bin/node'
/** The bundle standing in for each daemon (LND: the world LND, which follows bitcoind's RPC). */
const SIMULATOR_OF: Partial<Record<ServiceId, string>> = {
  bitcoind: 'bitcoind-simulator',
  electrs: 'electrs-simulator',
  lnd: 'lnd-world-simulator',
}
const health = `${SIMULATOR_IMAGE_DIR}/healthcheck.mjs`

/** A free TCP port on 127.0.0.1 (the kernel's pick; free again once this returns). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface SimulatedServiceTuning {
  /** Extra environment for the simulator (e.g. BITCOIND_SIM_* / ELECTRS_SIM_* knobs). */
  readonly env?: Readonly<Record<string, string>>
}

/** Host port each container port was published on, per service. */
export type PublishedPorts = Partial<Record<ServiceId, Record<number, number>>>

/** The production plan with bitcoind, electrs and LND running their simulators. */
export async function onSimulators(
  plan: StackPlan,
  tuning: Partial<Record<ServiceId, SimulatedServiceTuning>> = {},
): Promise<{ plan: StackPlan; ports: PublishedPorts }> {
  const ports: PublishedPorts = {}
  const services: ContainerSpec[] = []
  for (const spec of plan.services) {
    const probe = probeFor(spec)
    if (!probe) throw new Error(`no simulator for ${spec.id}`)
    const published: Record<number, number> = {}
    const movedPorts = []
    for (const p of spec.ports) {
      const host = await freePort()
      published[p.container] = host
      movedPorts.push({ ...p, host })
    }
    const id = spec.id as ServiceId
    ports[id] = published
    services.push({
      ...spec,
      entrypoint: [node, `${SIMULATOR_IMAGE_DIR}/${SIMULATOR_OF[id]}.mjs`],
      env: { ...spec.env, ...tuning[id]?.env },
      ports: movedPorts,
      health: {
        test: ['CMD', node, health, ...probe],
        intervalMs: 1_000,
        timeoutMs: 5_000,
        retries: 3,
        startPeriodMs: 120_000,
      },
    })
  }
  return { plan: { ...plan, services }, ports }
}

function probeFor(spec: ContainerSpec): string[] | undefined {
  const arg = (prefix: string) =>
    spec.command.find((a) => a.startsWith(prefix))?.slice(prefix.length)
  switch (spec.id) {
    case 'bitcoind': {
      // bitcoin-cli's way in: the cookie bitcoind writes into <datadir>/<chain>/.
      const rpc = spec.ports.find((p) => /RPC/i.test(p.purpose))!.container
      return ['bitcoind-cookie', `http://127.0.0.1:${rpc}`, `${arg('-datadir=')}/regtest/.cookie`]
    }
    case 'electrs': {
      const electrum = spec.ports.find((p) => /Electrum/i.test(p.purpose))!.container
      return ['electrum', '127.0.0.1', String(electrum)]
    }
    case 'lnd': {
      // `lncli state` is SERVER_ACTIVE: the REST gateway's /v1/state, over the box's TLS cert.
      const rest = spec.ports.find((p) => /REST/.test(p.purpose))!.container
      return ['lnd-rest', `https://127.0.0.1:${rest}`, `${arg('--lnddir=')}/tls.cert`]
    }
    default:
      return undefined
  }
}
