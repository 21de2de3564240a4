// One service: its state and controls, live logs with search, rendered configuration, resources.
import { Suspense, lazy, useEffect, useId, useMemo, useRef, useState } from 'react'
import { api, followLogs } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import type { LogLine, RenderedConfig } from '../../../shared/api/stack'
import { hrefFor } from '../../router'
import { ErrorBox, Spinner, StateBadge } from '../../shell/common'
import type { PageProps } from '../types'
import { pages } from '../index'
import { withService } from '../dashboard/status-updates'
import { appendCapped } from './append'
import { TabList, tabPanelProps } from '../../shell/TabList'

// uplot only loads here, and only when the Resources tab is opened.
const ResourceCharts = lazy(() => import('./ResourceCharts'))

type Tab = 'logs' | 'config' | 'resources'
const MAX_LINES = 2000

export default function ServicePage({ params }: PageProps) {
  const id = params.id ?? ''
  const status = useQuery(() => api.stack.status({}), [])
  const [tab, setTab] = useState<Tab>('logs')
  const startSvc = useMutation(() => api.stack.startService({ id }))
  const stopSvc = useMutation(() => api.stack.stopService({ id }))
  const restartSvc = useMutation(() => api.stack.restartService({ id }))

  useEvent('stack', (e) => {
    if (e.type === 'status') status.setData(e.status)
    else if (e.type === 'service') status.setData((s) => s && withService(s, e.service))
  })
  const service = status.data?.services.find((s) => s.id === id)

  if (status.error) return <ErrorBox error={status.error} />
  if (!status.data) return <Spinner label="Loading…" />
  if (!service)
    return (
      <section>
        <h1>Unknown service</h1>
        <p>
          There is no service called “{id}”. <a href={hrefFor('/')}>Back to the dashboard</a>.
        </p>
      </section>
    )

  if (service.state === 'embedded') {
    // Runs inside the engine, not in a container: no logs, container config or stats here.
    const own = pages.find((p) => p.path === `/${id}`)
    return (
      <div className="page">
        <nav aria-label="Breadcrumb" className="breadcrumb">
          <a href={hrefFor('/')}>Dashboard</a> › {service.displayName}
        </nav>
        <div className="page-head">
          <h1>{service.displayName}</h1>
          <StateBadge state={service.state} waitingFor={service.waitingFor} />
        </div>
        <p className="muted">{service.description}</p>
        <p>
          {service.displayName} runs inside Flash Box itself, so it starts and stops with the app.
          {own && (
            <>
              {' '}
              <a href={hrefFor(own.path)}>Open the {own.title} page</a> to manage it.
            </>
          )}
        </p>
      </div>
    )
  }

  const running = !['stopped', 'disabled', 'failed', 'crash-loop'].includes(service.state)
  const busy = startSvc.pending || stopSvc.pending || restartSvc.pending
  const tabs: { id: Tab; label: string }[] = [
    { id: 'logs', label: 'Logs' },
    { id: 'config', label: 'Configuration' },
    { id: 'resources', label: 'Resources' },
  ]

  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <a href={hrefFor('/')}>Dashboard</a> › {service.displayName}
      </nav>
      <div className="page-head">
        <h1>{service.displayName}</h1>
        <span
          role="status"
          aria-live="polite"
          data-testid="service-state"
          data-state={service.state}
        >
          <StateBadge state={service.state} waitingFor={service.waitingFor} />
        </span>
        <div className="actions">
          {running ? (
            <button type="button" onClick={() => void stopSvc.run(undefined)} disabled={busy}>
              Stop
            </button>
          ) : (
            <button
              type="button"
              className="primary"
              onClick={() => void startSvc.run(undefined)}
              disabled={busy || !service.enabled}
            >
              Start
            </button>
          )}
          <button
            type="button"
            onClick={() => void restartSvc.run(undefined)}
            disabled={busy || !service.enabled}
          >
            Restart
          </button>
        </div>
      </div>
      <p className="muted">{service.description}</p>
      {service.ports.length > 0 && (
        <p>
          Reachable on this computer at{' '}
          {service.ports.map((p, i) => (
            <span key={p.host}>
              {i > 0 && ', '}
              port <code>{p.host}</code> ({p.purpose})
            </span>
          ))}
          .
        </p>
      )}
      {service.problem && <ErrorBox error={service.problem} />}
      {[startSvc.error, stopSvc.error, restartSvc.error].map(
        (err, i) => err && <ErrorBox key={i} error={err} />,
      )}

      <TabList
        label="Service details"
        idPrefix="service"
        tabs={tabs}
        selected={tab}
        onSelect={setTab}
      />
      <div {...tabPanelProps('service', tab)} className="tabpanel">
        {tab === 'logs' && (
          <Logs id={id} run={`${service.containerId ?? ''}@${service.startedAt ?? ''}`} />
        )}
        {tab === 'config' && <Config id={id} />}
        {tab === 'resources' && (
          <Suspense fallback={<Spinner label="Loading charts…" />}>
            <ResourceCharts id={id} />
          </Suspense>
        )}
      </div>
    </div>
  )
}

export function filterLines(lines: readonly LogLine[], search: string): readonly LogLine[] {
  const q = search.trim().toLowerCase()
  if (!q) return lines
  return lines.filter((l) => l.text.toLowerCase().includes(q))
}

/** `run` changes when the service's container (re)starts: the log stream is attached again. */
function Logs({ id, run }: { id: string; run: string }) {
  const initial = useQuery(() => api.stack.logs({ id, tail: 500 }), [id])
  const older = useMutation((q: string) => api.stack.logs({ id, tail: 10_000, search: q }))
  const [search, setSearch] = useState('')
  const [paused, setPaused] = useState(false)
  const box = useRef<HTMLDivElement>(null)
  const searchId = useId()

  useEffect(() => followLogs(id), [id, run])
  useEvent('stack', (e) => {
    if (e.type !== 'log' || e.line.serviceId !== id || paused) return
    initial.setData((prev) => appendCapped(prev ?? [], e.line, MAX_LINES))
  })
  const lines = useMemo(() => initial.data ?? [], [initial.data])
  const shown = useMemo(() => filterLines(lines, search), [lines, search])
  useEffect(() => {
    const el = box.current
    if (el && !paused) el.scrollTop = el.scrollHeight
  }, [shown, paused])

  return (
    <div className="logs">
      <div className="toolbar">
        <label htmlFor={searchId}>Search the logs</label>
        <input
          id={searchId}
          type="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          placeholder="e.g. error"
        />
        <button
          type="button"
          disabled={!search.trim() || older.pending}
          onClick={async () => {
            const found = await older.run(search.trim())
            if (found) {
              setPaused(true)
              initial.setData(found)
            }
          }}
        >
          {older.pending ? 'Searching…' : 'Search older lines too'}
        </button>
        <button type="button" onClick={() => setPaused((p) => !p)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span className="muted" role="status">
          {search ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}
        </span>
      </div>
      {initial.error && <ErrorBox error={initial.error} />}
      {older.error && <ErrorBox error={older.error} />}
      <div
        ref={box}
        className="log-view"
        role="log"
        aria-label="Logs"
        aria-live="off"
        tabIndex={0}
        data-testid="log-view"
      >
        {shown.length === 0 ? (
          <p className="muted">{initial.loading ? 'Loading…' : 'No log lines yet.'}</p>
        ) : (
          shown.map((l, i) => (
            <div key={i} className={`log-line ${l.stream === 'stderr' ? 'log-err' : ''}`}>
              <time dateTime={l.time}>{l.time.slice(11, 19)}</time> {l.text}
            </div>
          ))
        )}
      </div>
    </div>
  )
}

function Config({ id }: { id: string }) {
  const cfg = useQuery<RenderedConfig>(() => api.stack.renderedConfig({ id }), [id])
  if (cfg.error) return <ErrorBox error={cfg.error} />
  if (!cfg.data) return <Spinner label="Loading the configuration…" />
  const c = cfg.data
  const env = Object.entries(c.env)
  return (
    <div className="config">
      <p className="muted">
        Secrets are hidden (••••••). This is what Flash Box gives the container.
      </p>
      <dl className="facts">
        <dt>Image</dt>
        <dd>
          <code>{c.image}</code>
        </dd>
        <dt>Command</dt>
        <dd>
          <code>{c.command.join(' ') || '(image default)'}</code>
        </dd>
      </dl>
      {env.length > 0 && (
        <table>
          <caption>Environment</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {env.map(([k, v]) => (
              <tr key={k}>
                <td>
                  <code>{k}</code>
                </td>
                <td>
                  <code>{v}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {c.files.map((f) => (
        <figure key={f.path} className="config-file">
          <figcaption>
            <code>{f.path}</code>
          </figcaption>
          <pre tabIndex={0}>{f.contents}</pre>
        </figure>
      ))}
    </div>
  )
}
