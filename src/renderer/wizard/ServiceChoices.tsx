// The list of services with a checkbox each, shared by the setup wizard and Settings: required
// services are shown ticked and locked; switching one on brings what it needs (toggleService).
import type { ServiceInfo } from '../../shared/api/stack'
import type { OptionalServiceId, Settings } from '../../shared/settings'
import { formatBytes } from '../format'
import { isOptional, toggleService } from './service-choice'

export function ServiceChoices({
  legend,
  catalog,
  settings,
  onChange,
  showDownloads = false,
}: {
  legend: string
  catalog: readonly ServiceInfo[]
  settings: Settings
  onChange: (next: Settings) => void
  /** The wizard shows what each service downloads and marks the ones always included. */
  showDownloads?: boolean
}) {
  return (
    <fieldset className="choices">
      <legend>{legend}</legend>
      {catalog.map((s) => {
        const optional = isOptional(s.id)
        const on = optional ? settings.services[s.id as OptionalServiceId] : true
        return (
          <label key={s.id} className={`choice ${on ? 'selected' : ''}`}>
            <input
              type="checkbox"
              checked={on}
              disabled={!optional}
              onChange={(e) =>
                optional &&
                onChange(
                  toggleService(settings, catalog, s.id as OptionalServiceId, e.target.checked),
                )
              }
            />
            <span>
              <strong>{s.displayName}</strong>
              {showDownloads && !optional && <span className="muted"> (always included)</span>}
              <span className="choice-explain">{s.description}</span>
              {showDownloads && s.downloadBytes ? (
                <span className="muted">Download: {formatBytes(s.downloadBytes)}</span>
              ) : null}
            </span>
          </label>
        )
      })}
    </fieldset>
  )
}
