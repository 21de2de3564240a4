// Fold live events into the last known stack status.
import type { Alert, ServiceStatus, StackStatus } from '../../../shared/api/stack'

export function withService(s: StackStatus, svc: ServiceStatus): StackStatus {
  const found = s.services.some((x) => x.id === svc.id)
  return {
    ...s,
    services: found ? s.services.map((x) => (x.id === svc.id ? svc : x)) : [...s.services, svc],
  }
}

export function withAlert(s: StackStatus, alert: Alert): StackStatus {
  return { ...s, alerts: [alert, ...s.alerts.filter((a) => a.id !== alert.id)] }
}

export function withoutAlert(s: StackStatus, id: string): StackStatus {
  return { ...s, alerts: s.alerts.filter((a) => a.id !== id) }
}
