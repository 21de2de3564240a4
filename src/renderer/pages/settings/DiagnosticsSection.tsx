// Settings → Diagnostics: versions, Docker, recent problems, and a support bundle (logs, settings,
// service states and configuration, with every secret removed) saved to a file.
import { useEffect, useState } from 'react'
import type { SupportBundleResult } from '../../../shared/api/system'
import { api } from '../../api/client'
import { useMutation, useQuery } from '../../api/hooks'
import { formatBytes } from '../../format'
import { ErrorBox, Spinner } from '../../shell/common'
import { sectionHeadingId } from './sections'
import { TextField } from '../../shell/TextField'

const dockerText = {
  running: 'Running',
  'not-installed': 'Not installed',
  'not-running': 'Not running',
  'permission-denied': 'Flash Box may not use it',
} as const

export function DiagnosticsSection() {
  const diag = useQuery(() => api.system.diagnostics({}), [])
  const [path, setPath] = useState('')
  const [saved, setSaved] = useState<SupportBundleResult | undefined>(undefined)
  const save = useMutation((p: string) => api.system.saveSupportBundle({ path: p }))
  const suggested = diag.data?.suggestedBundlePath
  useEffect(() => {
    // The suggestion arrives with the diagnostics; the owner may change it before saving.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    if (suggested) setPath((p) => p || suggested)
  }, [suggested])

  const id = sectionHeadingId('diagnostics')
  const d = diag.data
  return (
    <section aria-labelledby={id} className="settings-section">
      <h2 id={id}>Diagnostics</h2>
      {diag.error && <ErrorBox error={diag.error} />}
      {!d && !diag.error && <Spinner label="Collecting diagnostics…" />}
      {d && (
        <>
          <dl className="facts" aria-label="Versions and Docker">
            <dt>Flash Box</dt>
            <dd>{d.versions.flashBox}</dd>
            <dt>Node.js</dt>
            <dd>{d.versions.node}</dd>
            {d.versions.electron && (
              <>
                <dt>Electron</dt>
                <dd>{d.versions.electron}</dd>
              </>
            )}
            <dt>System</dt>
            <dd>
              {d.versions.platform} ({d.versions.arch})
            </dd>
            <dt>Docker</dt>
            <dd>
              {dockerText[d.docker.state]}
              {d.docker.version ? `, version ${d.docker.version}` : ''}
            </dd>
            <dt>Docker address</dt>
            <dd>
              <code>{d.docker.host || '—'}</code>
            </dd>
            <dt>Flash Box’s own folder</dt>
            <dd>
              <code>{d.engineDataDir}</code>
            </dd>
            {d.stackDataDir && (
              <>
                <dt>Services’ data folder</dt>
                <dd>
                  <code>{d.stackDataDir}</code>
                </dd>
              </>
            )}
          </dl>
          {d.docker.problem && <ErrorBox error={d.docker.problem} />}
          <h3>Recent problems</h3>
          {d.recentProblems.length === 0 ? (
            <p>No warnings or errors since Flash Box started.</p>
          ) : (
            <ul className="recent-problems" aria-label="Recent problems">
              {d.recentProblems.map((p, i) => (
                <li
                  key={`${p.time}-${i}`}
                  className={`tone-${p.level === 'error' ? 'bad' : 'warn'}`}
                >
                  <time dateTime={p.time}>{new Date(p.time).toLocaleString()}</time> {p.where}:{' '}
                  {p.message}
                </li>
              ))}
            </ul>
          )}
          <button type="button" onClick={diag.refresh}>
            Refresh
          </button>
        </>
      )}
      <h3>Support bundle</h3>
      <p>
        One file with the versions, Docker facts, settings, service states and configuration, and
        the recent log — every password, key and other secret taken out — to share with whoever
        helps you.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          setSaved(undefined)
          void save.run(path.trim()).then((r) => r && setSaved(r))
        }}
      >
        <TextField
          id="support-bundle-path"
          label="Save the support bundle as"
          value={path}
          spellCheck={false}
          onChange={(e) => setPath(e.target.value)}
        />
        <button type="submit" disabled={save.pending || !path.trim()}>
          {save.pending ? 'Saving…' : 'Save support bundle'}
        </button>
      </form>
      {save.error && <ErrorBox error={save.error} />}
      {saved && (
        <p className="notice tone-ok" role="status">
          Saved to <code>{saved.path}</code> ({formatBytes(saved.bytes)}; {saved.secretsRemoved}{' '}
          secret value{saved.secretsRemoved === 1 ? '' : 's'} taken out).
        </p>
      )}
    </section>
  )
}
