// Small building blocks shared by the pages.
import type { ReactNode } from 'react'
import type { UserError } from '../../shared/errors'
import { stateInfo, stateLabel, type Tone } from '../format'
import type { ServiceState } from '../../shared/api/stack'
import { sectionSlug, settingsSections } from '../pages/settings/sections'

export function Spinner({ label }: { label: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      {label}
    </div>
  )
}

/** What happened and what to do, never a stack trace. */
export function ErrorBox({ error, title }: { error: UserError; title?: string }) {
  return (
    <div className="notice tone-bad" role="alert">
      {title && <strong>{title} </strong>}
      <p className="notice-message">{error.message}</p>
      <p className="notice-hint">
        <HintText text={error.hint} />
      </p>
    </div>
  )
}

/** "Settings → Images" and the like, anywhere in a hint, as a link to that section. */
// A known section title (or, so that a wrong one is still caught, any capitalised word), then
// any further " → item" steps, each ending at punctuation or the end of the text.
export const SETTINGS_PLACE = new RegExp(
  `Settings → (?:${settingsSections.map((s) => s.title).join('|')}|[A-Z][\\w-]*)(?: → [^→().,;:]+?(?=[).,;:]|$))*`,
  'g',
)

export function settingsPlaceHref(place: string): string | undefined {
  const parts = place.split(' → ').map((p) => p.trim())
  const slug = parts[1] ? sectionSlug(parts[1]) : undefined
  return slug ? `#/settings/${slug}` : undefined
}

export function HintText({ text }: { text: string }) {
  const out: ReactNode[] = []
  let last = 0
  for (const m of text.matchAll(SETTINGS_PLACE)) {
    const href = settingsPlaceHref(m[0])
    if (!href) continue
    out.push(text.slice(last, m.index))
    out.push(
      <a key={m.index} href={href}>
        {m[0]}
      </a>,
    )
    last = m.index + m[0].length
  }
  out.push(text.slice(last))
  return <>{out}</>
}

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge tone-${tone}`}>{children}</span>
}

export function StateBadge({
  state,
  waitingFor,
}: {
  state: ServiceState
  waitingFor?: readonly string[]
}) {
  const info = stateInfo[state]
  return (
    <Badge tone={info.tone}>{stateLabel({ state, ...(waitingFor ? { waitingFor } : {}) })}</Badge>
  )
}

/** A labelled progress bar (role=progressbar with its value for screen readers). */
export function Progress({
  label,
  value,
  max = 1,
  text,
}: {
  label: string
  value: number
  max?: number
  text?: string
}) {
  const fraction = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0
  return (
    <div className="progress-row">
      <div className="progress-label">
        <span>{label}</span>
        <span>{text ?? `${Math.round(fraction * 100)} %`}</span>
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(fraction * 100)}
        aria-valuetext={text}
      >
        <div className="progress-fill" style={{ width: `${fraction * 100}%` }} />
      </div>
    </div>
  )
}
