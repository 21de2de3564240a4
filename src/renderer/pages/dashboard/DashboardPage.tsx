// Everything at a glance: each service's state, the chain's sync, and what needs attention.
import { useEffect } from 'react'
import { api } from '../../api/client'
import { firstAnswer } from '../../api/first-answers'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import type { Alert, ServiceStatus, StackStatus, SyncStatus } from '../../../shared/api/stack'
import {
  formatDuration,
  formatNumber,
  formatPercent,
  listNames,
  stateInfo,
  stateLabel,
} from '../../format'
import { hrefFor } from '../../router'
import { ErrorBox, Progress, Spinner, StateBadge } from '../../shell/common'
import type { PageProps } from '../types'
import { withAlert, withoutAlert, withService } from './status-updates'

const SYNC_POLL_MS = 15_000

export default function DashboardPage(_props: PageProps) {
  // The status the setup gate just loaded (one round trip, not two); refreshes ask again.
  const status = useQuery(() => firstAnswer('stack.status', () => api.stack.status({})), [])
  const sync = useQuery(() => api.stack.sync({}), [])
  const refreshSync = sync.refresh
  useEffect(() => {
    // Sync events update the panel as they come; this catches up if a source has no events.
    const t = setInterval(refreshSync, SYNC_POLL_MS)
    return () => clearInterval(t)
  }, [refreshSync])
  const start = useMutation(() => api.stack.start({}))
  const stop = useMutation(() => api.stack.stop({}))
  const dismiss = useMutation((id: string) => api.stack.dismissAlert({ id }))

  useEvent('stack', (e) => {
    if (e.type === 'status') status.setData(e.status)
    else if (e.type === 'service') status.setData((s) => s && withService(s, e.service))
    else if (e.type === 'alert') status.setData((s) => s && withAlert(s, e.alert))
    else if (e.type === 'alert-cleared') status.setData((s) => s && withoutAlert(s, e.id))
    else if (e.type === 'sync') sync.setData(e.sync)
  })

  if (status.error) return <ErrorBox error={status.error} title="The dashboard could not load." />
  if (!status.data) return <Spinner label="Loading the dashboard…" />
  const s = status.data
  const enabled = s.services.filter((x) => x.enabled)
  const healthy = enabled.filter((x) => stateInfo[x.state].tone === 'ok').length

  return (
    <div className="page">
      <div className="page-head">
        <h1>Dashboard</h1>
        <p className="summary" role="status" aria-live="polite">
          {summaryText(s, healthy, enabled.length)}
        </p>
        <div className="actions">
          {s.desired === 'running' ? (
            <button type="button" onClick={() => void stop.run(undefined)} disabled={stop.pending}>
              {stop.pending ? 'Stopping…' : 'Stop everything'}
            </button>
          ) : (
            <button
              type="button"
              className="primary"
              onClick={() => void start.run(undefined)}
              disabled={start.pending}
            >
              {start.pending ? 'Starting…' : 'Start everything'}
            </button>
          )}
        </div>
      </div>
      {start.error && <ErrorBox error={start.error} />}
      {stop.error && <ErrorBox error={stop.error} />}
      {s.docker.state !== 'running' &&
        s.docker.problem &&
        !s.alerts.some((a) => a.id === 'docker') && (
          <ErrorBox error={s.docker.problem} title="Docker is not available." />
        )}

      <AlertList
        alerts={s.alerts}
        names={Object.fromEntries(s.services.map((x) => [x.id, x.displayName]))}
        onDismiss={(id) => void dismiss.run(id)}
      />

      <section aria-labelledby="services-title">
        <h2 id="services-title">Services</h2>
        <ul className="service-grid">
          {s.services.map((svc) => (
            <li key={svc.id}>
              <ServiceCard service={svc} />
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="sync-title">
        <h2 id="sync-title">Sync</h2>
        {sync.error ? (
          <ErrorBox error={sync.error} />
        ) : sync.data ? (
          <SyncPanel sync={sync.data} running={s.desired === 'running'} />
        ) : (
          <Spinner label="Loading sync status…" />
        )}
      </section>
    </div>
  )
}

function summaryText(s: StackStatus, healthy: number, total: number): string {
  if (s.desired === 'stopped') {
    // The relay and the mint may run inside the app while the containers are stopped.
    const inApp = s.services.filter((x) => x.state === 'embedded').map((x) => x.displayName)
    return inApp.length
      ? `The containers are stopped; ${listNames(inApp)} ${inApp.length > 1 ? 'run' : 'runs'} inside the app.`
      : 'Everything is stopped.'
  }
  const critical = s.alerts.filter((a) => a.severity === 'critical').length
  if (critical)
    return `${critical} problem${critical > 1 ? 's' : ''} need${critical > 1 ? '' : 's'} your attention.`
  if (healthy === total) return `All ${total} services are running.`
  return `${healthy} of ${total} services are running.`
}

function AlertList({
  alerts,
  names,
  onDismiss,
}: {
  alerts: readonly Alert[]
  names: Readonly<Record<string, string>>
  onDismiss: (id: string) => void
}) {
  if (!alerts.length) return null
  return (
    <section aria-labelledby="alerts-title" className="alerts">
      <h2 id="alerts-title">Needs attention</h2>
      <ul>
        {alerts.map((a) => (
          <li
            key={a.id}
            className={`notice tone-${a.severity === 'critical' ? 'bad' : a.severity === 'warning' ? 'warn' : 'busy'}`}
            role={a.severity === 'critical' ? 'alert' : undefined}
          >
            <div className="alert-text">
              <strong>{a.title}</strong>
              <p className="notice-message">{a.message}</p>
              <p className="notice-hint">
                <span className="visually-hidden">What to do: </span>
                {a.hint}
              </p>
              {a.serviceId && (
                <a href={hrefFor(`/service/${a.serviceId}`)}>
                  Open {names[a.serviceId] ?? a.serviceId}
                </a>
              )}
            </div>
            <button type="button" className="ghost" onClick={() => onDismiss(a.id)}>
              Dismiss<span className="visually-hidden"> “{a.title}”</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  )
}

function ServiceCard({ service }: { service: ServiceStatus }) {
  return (
    <a
      className={`card service-card tone-border-${stateInfo[service.state].tone}`}
      href={hrefFor(`/service/${service.id}`)}
      aria-label={`${service.displayName}: ${stateLabel(service)}`}
      data-service={service.id}
      data-state={service.state}
    >
      <div className="service-card-head">
        <span className="service-name">{service.displayName}</span>
        <StateBadge state={service.state} waitingFor={service.waitingFor} />
      </div>
      <p className="service-desc">{service.description}</p>
      {service.restarts > 0 && (
        <p className="muted">
          Restarted {service.restarts} time{service.restarts > 1 ? 's' : ''}
        </p>
      )}
      {service.state === 'restarting' && service.nextRestartAt && (
        <p className="muted">
          Next try at{' '}
          <time dateTime={service.nextRestartAt}>{service.nextRestartAt.slice(11, 19)}</time>
        </p>
      )}
      {service.problem && <p className="service-problem">{service.problem.message}</p>}
    </a>
  )
}

export function SyncPanel({ sync, running }: { sync: SyncStatus; running: boolean }) {
  const b = sync.bitcoind
  const e = sync.electrs
  const l = sync.lnd
  if (!b && !e && !l)
    return (
      <p className="muted">
        {running
          ? 'Waiting for the first sync report from the services…'
          : 'Nothing is syncing: Bitcoin Core is stopped.'}
      </p>
    )
  return (
    <div className="sync-grid">
      {b && (
        <div className="card" aria-labelledby="sync-bitcoind">
          <h3 id="sync-bitcoind">Bitcoin ({b.chain})</h3>
          <Progress
            label="Verified"
            value={b.verificationProgress}
            text={formatPercent(b.verificationProgress, 2)}
          />
          <dl className="facts">
            <dt>Blocks</dt>
            <dd>
              {formatNumber(b.blocks)} of {formatNumber(b.headers)}
            </dd>
            <dt>State</dt>
            <dd>
              {b.state === 'catching-up'
                ? 'Catching up with the network'
                : b.state === 'no-blocks-yet'
                  ? 'Ready — no blocks yet (nothing has been mined on this regtest chain)'
                  : 'Up to date'}
            </dd>
            {b.state === 'catching-up' && (
              <>
                <dt>Time left</dt>
                <dd>
                  {b.etaSeconds !== undefined
                    ? `about ${formatDuration(b.etaSeconds)}`
                    : 'Measuring…'}
                </dd>
              </>
            )}
          </dl>
        </div>
      )}
      {e && (
        <div className="card" aria-labelledby="sync-electrs">
          <h3 id="sync-electrs">Electrum index</h3>
          <Progress
            label="Indexed"
            value={e.indexedHeight}
            max={Math.max(1, e.tipHeight)}
            text={`${formatNumber(e.indexedHeight)} of ${formatNumber(e.tipHeight)} blocks`}
          />
        </div>
      )}
      {l && (
        <div className="card" aria-labelledby="sync-lnd">
          <h3 id="sync-lnd">Lightning</h3>
          <dl className="facts">
            <dt>Chain</dt>
            <dd>{l.syncedToChain ? 'In sync' : 'Catching up'}</dd>
            <dt>Network graph</dt>
            <dd>{l.syncedToGraph ? 'In sync' : 'Learning the network'}</dd>
            <dt>Block height</dt>
            <dd>{formatNumber(l.blockHeight)}</dd>
          </dl>
        </div>
      )}
    </div>
  )
}
