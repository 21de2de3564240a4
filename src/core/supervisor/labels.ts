// Every container, network and volume the supervisor makes carries these labels, so that after a
// restart of the app (or of Docker) it finds and adopts its own objects instead of duplicating or
// deleting them. The spec hash decides whether a running container still matches what is wanted.
import { createHash } from 'node:crypto'
import type { ContainerSpec } from '../stack/spec'

export const LABEL_PROJECT = 'io.flashbox.project'
export const LABEL_SERVICE = 'io.flashbox.service'
export const LABEL_SPEC_HASH = 'io.flashbox.spec-hash'
export const LABEL_MANAGED = 'io.flashbox.managed-by'
export const MANAGED_BY = 'flashbox-supervisor'

/** Deterministic JSON: object keys sorted, so the hash never depends on insertion order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    )
  }
  return value
}

/**
 * Hash of everything that shapes the container. Changing any of it means "recreate"; display
 * strings do not count. Rendered file contents count too: a changed config needs a fresh start.
 */
export function specHash(spec: ContainerSpec, network: string): string {
  const shape = {
    image: spec.image.digest,
    entrypoint: spec.entrypoint ?? null,
    command: spec.command,
    env: spec.env,
    ports: spec.ports,
    mounts: spec.mounts,
    files: spec.files.map((f) => ({ path: f.hostPath, mode: f.mode, contents: f.contents })),
    health: spec.health,
    stopGraceSeconds: spec.stopGraceSeconds,
    user: spec.user ?? null,
    confinement: spec.confinement ?? null,
    hostname: spec.hostname,
    network,
    // Only when declared, so the other services' hashes (and containers) stay as they were.
    ...(spec.unlockKeys ? { unlockKeys: spec.unlockKeys } : {}),
    ...(spec.gatewayHostname ? { gatewayHostname: spec.gatewayHostname } : {}),
  }
  return createHash('sha256')
    .update(JSON.stringify(canonical(shape)))
    .digest('hex')
    .slice(0, 32)
}

export function containerName(project: string, serviceId: string): string {
  return `${project}-${serviceId}`
}
