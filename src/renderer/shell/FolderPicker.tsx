// Choosing a folder: type its path, or press "Choose…" — the system's folder dialog in the desktop
// app, and in a browser a folder browser over the engine's folder listing (folder names only).
import { useId, useState, type ReactNode } from 'react'
import { api } from '../api/client'
import { desktop, isDesktop } from '../api/desktop'
import { useQuery } from '../api/hooks'
import { ErrorBox, Spinner } from './common'

export function FolderPicker({
  label,
  value,
  onChange,
  dialogTitle,
  help,
}: {
  label: string
  value: string
  onChange: (path: string) => void
  /** Title of the system dialog / the browser panel. */
  dialogTitle: string
  help?: ReactNode
}) {
  const inputId = useId()
  const helpId = useId()
  const [browsing, setBrowsing] = useState(false)

  const choose = async () => {
    if (!isDesktop()) {
      setBrowsing((b) => !b)
      return
    }
    try {
      const picked = await desktop.pickFolder(dialogTitle, value || undefined)
      if (picked) onChange(picked)
    } catch {
      // An older desktop build without the dialog: the folder browser works everywhere.
      setBrowsing(true)
    }
  }

  return (
    <div className="field folder-picker">
      <label htmlFor={inputId}>{label}</label>
      <div className="folder-row">
        <input
          id={inputId}
          value={value}
          spellCheck={false}
          aria-describedby={help ? helpId : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
        <button type="button" onClick={() => void choose()} aria-expanded={browsing}>
          Choose…
        </button>
      </div>
      {help && (
        <div id={helpId} className="field-help">
          {help}
        </div>
      )}
      {browsing && (
        <FolderBrowser
          title={dialogTitle}
          start={value}
          onPick={(p) => {
            onChange(p)
            setBrowsing(false)
          }}
          onCancel={() => setBrowsing(false)}
        />
      )}
    </div>
  )
}

const isAbsolute = (p: string) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)

export function FolderBrowser({
  title,
  start,
  onPick,
  onCancel,
}: {
  title: string
  start: string
  onPick: (path: string) => void
  onCancel: () => void
}) {
  const [at, setAt] = useState<string | undefined>(
    isAbsolute(start.trim()) ? start.trim() : undefined,
  )
  const listing = useQuery(() => api.system.listFolders(at ? { path: at } : {}), [at])
  const l = listing.data
  return (
    <div className="folder-browser card" role="group" aria-label={title}>
      <p className="folder-browser-title">
        <strong>{title}</strong>
      </p>
      {listing.error && (
        <>
          <ErrorBox error={listing.error} />
          <button type="button" onClick={() => setAt(undefined)}>
            Go to the home folder
          </button>
        </>
      )}
      {!l && !listing.error && <Spinner label="Reading folders…" />}
      {l && (
        <>
          <p>
            In <code>{l.path}</code>
            {!l.writable && <span className="muted"> (Flash Box may not write here)</span>}
          </p>
          <div className="folder-browser-actions">
            <button type="button" onClick={() => l.parent && setAt(l.parent)} disabled={!l.parent}>
              Up one level
            </button>
            <button type="button" onClick={() => setAt(l.home)}>
              Home folder
            </button>
          </div>
          <ul className="folder-list" aria-label="Folders here">
            {l.folders.length === 0 && <li className="muted">No folders here.</li>}
            {l.folders.map((f) => (
              <li key={f.path}>
                <button type="button" className="link" onClick={() => setAt(f.path)}>
                  {f.name}
                </button>
              </li>
            ))}
            {l.truncated && <li className="muted">More folders are not shown.</li>}
          </ul>
          <div className="wizard-nav">
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
            <span className="spacer" />
            <button type="button" className="primary" onClick={() => onPick(l.path)}>
              Use this folder
            </button>
          </div>
        </>
      )}
    </div>
  )
}
