// The pages' tab strip, in one place: the WAI-ARIA tabs pattern (roving tabindex, arrow keys move
// and select, each tab names its panel). The page renders the panel itself, with `tabPanelProps`.
import type { ReactNode } from 'react'

export interface TabItem<Id extends string> {
  id: Id
  label: ReactNode
}

export function TabList<Id extends string>({
  label,
  idPrefix,
  tabs,
  selected,
  onSelect,
}: {
  /** The strip's accessible name, e.g. "eCash actions". */
  label: string
  /** Prefix of the tab and panel ids, unique on the page. */
  idPrefix: string
  tabs: readonly TabItem<Id>[]
  selected: Id
  onSelect: (id: Id) => void
}) {
  return (
    <div role="tablist" aria-label={label} className="tabs">
      {tabs.map((t, i) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`${idPrefix}-tab-${t.id}`}
          aria-selected={selected === t.id}
          aria-controls={`${idPrefix}-panel-${t.id}`}
          tabIndex={selected === t.id ? 0 : -1}
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => {
            const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0
            if (!step) return
            const next = tabs[(i + step + tabs.length) % tabs.length]!
            onSelect(next.id)
            document.getElementById(`${idPrefix}-tab-${next.id}`)?.focus()
          }}
        >
          {t.label}
        </button>
      ))}
    </div>
  )
}

/** The attributes of the panel that shows the selected tab. */
export function tabPanelProps(idPrefix: string, selected: string) {
  return {
    role: 'tabpanel',
    id: `${idPrefix}-panel-${selected}`,
    'aria-labelledby': `${idPrefix}-tab-${selected}`,
  } as const
}
