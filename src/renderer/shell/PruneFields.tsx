// The pruning choice, as the setup wizard and Settings → Stack both ask it: a checkbox, and when
// it is on, how many MiB of recent blocks to keep (Bitcoin Core's minimum is 550).
import type { ReactNode } from 'react'
import type { Settings } from '../../shared/settings'
import { CheckboxField, TextField } from './TextField'

type Prune = Settings['prune']

export function PruneFields({
  prune,
  onChange,
  label,
}: {
  prune: Prune
  onChange: (prune: Prune) => void
  label: ReactNode
}) {
  return (
    <>
      <CheckboxField
        label={label}
        checked={prune.enabled}
        onChange={(e) =>
          onChange(e.target.checked ? { enabled: true, targetMiB: 10_000 } : { enabled: false })
        }
      />
      {prune.enabled && (
        <TextField
          label="Keep about this many MiB of blocks (at least 550)"
          type="number"
          min={550}
          step={1000}
          value={prune.targetMiB}
          onChange={(e) =>
            onChange({ enabled: true, targetMiB: Math.max(550, Number(e.target.value) || 550) })
          }
        />
      )}
    </>
  )
}
