// Which services run: switching one on brings what it needs, switching one off drops what
// cannot run without it. Shared by the setup wizard and the Settings page.
import type { ServiceInfo } from '../../shared/api/stack'
import { optionalServiceIds, type OptionalServiceId, type Settings } from '../../shared/settings'

export const isOptional = (id: string): id is OptionalServiceId =>
  (optionalServiceIds as readonly string[]).includes(id)

/** What a service needs on this network (on regtest the mint needs no Lightning node). */
export function requiresOn(info: ServiceInfo | undefined, network: Settings['network']): string[] {
  const waived = network === 'regtest' ? (info?.notRequiredOnRegtest ?? []) : []
  return (info?.requires ?? []).filter((r) => !waived.includes(r))
}

export function toggleService(
  settings: Settings,
  catalog: readonly ServiceInfo[],
  id: OptionalServiceId,
  on: boolean,
): Settings {
  const services = { ...settings.services, [id]: on }
  const info = (x: string) => catalog.find((c) => c.id === x)
  if (on) {
    // Switching a service on switches on what it needs.
    const todo = requiresOn(info(id), settings.network)
    while (todo.length) {
      const r = todo.pop()!
      if (isOptional(r) && !services[r]) {
        services[r] = true
        todo.push(...requiresOn(info(r), settings.network))
      }
    }
  } else {
    // Switching one off switches off what cannot run without it.
    let changed = true
    while (changed) {
      changed = false
      for (const c of catalog) {
        if (
          isOptional(c.id) &&
          services[c.id] &&
          requiresOn(c, settings.network).some((r) => isOptional(r) && !services[r])
        ) {
          services[c.id] = false
          changed = true
        }
      }
    }
  }
  return { ...settings, services }
}
