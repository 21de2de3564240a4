// Change what runs after setup: the services and pruning. The network and the data folder stay
// as chosen (changing them means a new chain and new wallets; that is a fresh setup, not a toggle).
import { useState, type FormEvent } from 'react'
import type { ServiceInfo, SettingsCheck } from '../../../shared/api/stack'
import type { Settings } from '../../../shared/settings'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { ServiceChoices } from '../../wizard/ServiceChoices'
import { sectionHeadingId } from './sections'
import { PruneFields } from '../../shell/PruneFields'

export function StackSettingsForm({
  saved,
  catalog,
  onSaved,
}: {
  saved: Settings
  catalog: readonly ServiceInfo[]
  onSaved: (s: Settings) => void
}) {
  const [draft, setDraft] = useState<Settings>(saved)
  const [result, setResult] = useState<SettingsCheck | null>(null)
  const save = useMutation((s: Settings) => api.stack.saveSettings(s))
  const changed = JSON.stringify(draft) !== JSON.stringify(saved)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setResult(null)
    const check = await save.run(draft)
    if (!check) return
    setResult(check)
    if (check.ok) onSaved(draft)
  }

  return (
    <form
      onSubmit={submit}
      aria-labelledby={sectionHeadingId('services')}
      className="settings-section"
    >
      <h2 id={sectionHeadingId('services')}>Services</h2>
      <ServiceChoices legend="What runs" catalog={catalog} settings={draft} onChange={setDraft} />
      <fieldset className="choices">
        <legend>Where the relay and the mint run</legend>
        <label className={`choice ${draft.ownServices === 'embedded' ? 'selected' : ''}`}>
          <input
            type="radio"
            name="own-services"
            value="embedded"
            checked={draft.ownServices === 'embedded'}
            onChange={() => setDraft({ ...draft, ownServices: 'embedded' })}
          />
          <span>
            <strong>Run inside the app</strong>
            <span className="choice-explain">
              No Docker image needed; they run while Flash Box runs.
            </span>
          </span>
        </label>
        <label className={`choice ${draft.ownServices === 'container' ? 'selected' : ''}`}>
          <input
            type="radio"
            name="own-services"
            value="container"
            checked={draft.ownServices === 'container'}
            onChange={() => setDraft({ ...draft, ownServices: 'container' })}
          />
          <span>
            <strong>Run as containers</strong>
            <span className="choice-explain">
              Docker runs them like the other services; their images are made on this computer.
            </span>
          </span>
        </label>
      </fieldset>
      <PruneFields
        prune={draft.prune}
        onChange={(prune) => setDraft({ ...draft, prune })}
        label="Keep only recent blocks (pruning)"
      />
      {save.error && <ErrorBox error={save.error} />}
      {result && !result.ok && (
        <ul className="problems" aria-label="Why these settings were not saved">
          {result.problems.map((p) => (
            <li key={p.code + p.message} className="notice tone-warn">
              <p className="notice-message">{p.message}</p>
              <p className="notice-hint">{p.hint}</p>
            </li>
          ))}
        </ul>
      )}
      {result?.ok && (
        <p className="notice tone-ok" role="status">
          Saved. Flash Box is bringing the services in line with these settings.
        </p>
      )}
      <div className="wizard-nav">
        <button type="button" onClick={() => setDraft(saved)} disabled={!changed || save.pending}>
          Undo changes
        </button>
        <span className="spacer" />
        <button type="submit" className="primary" disabled={!changed || save.pending}>
          {save.pending ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  )
}
