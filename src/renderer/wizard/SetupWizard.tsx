// First run: Docker → network → where the data lives (with a free-space check) → services →
// downloads with real progress → start. Nothing is saved until the user confirms the review.
import { useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react'
import { api } from '../api/client'
import { useEvent, useMutation, useQuery } from '../api/hooks'
import { toApiError, type ApiError } from '../api/transport'
import type { SettingsCheck } from '../../shared/api/stack'
import { defaultSettings, type Settings } from '../../shared/settings'
import { formatBytes } from '../format'
import { ErrorBox, Progress, Spinner } from '../shell/common'
import { FolderPicker } from '../shell/FolderPicker'
import { RestoreFromBackup } from '../pages/settings/BackupSection'
import { dockerHelp } from './docker-help'
import { networkChoices } from './networks'
import { isOptional } from './service-choice'
import { ServiceChoices } from './ServiceChoices'
import { PruneFields } from '../shell/PruneFields'

export { toggleService } from './service-choice'

const steps = ['docker', 'network', 'storage', 'services', 'download', 'start'] as const
type Step = (typeof steps)[number]
const stepTitles: Record<Step, string> = {
  docker: 'Docker',
  network: 'Network',
  storage: 'Storage',
  services: 'Services',
  download: 'Download',
  start: 'Start',
}

export default function SetupWizard({ onDone }: { onDone: () => void }) {
  const saved = useQuery(() => api.stack.getSettings({}), [])
  const suggested = useQuery(() => api.stack.suggestedSettings({}), [])
  if (saved.loading || suggested.loading) return <Spinner label="Loading the setup…" />
  // A failed read is not fatal: start from the engine's suggestion, else the bare defaults.
  return <Wizard initial={saved.data ?? suggested.data ?? defaultSettings('')} onDone={onDone} />
}

function Wizard({ initial, onDone }: { initial: Settings; onDone: () => void }) {
  const [step, setStep] = useState<Step>('docker')
  const [settings, setSettings] = useState<Settings>(initial)
  const heading = useRef<HTMLHeadingElement>(null)
  const index = steps.indexOf(step)

  useEffect(() => {
    heading.current?.focus()
  }, [step])

  const go = (s: Step) => setStep(s)
  const next = () => go(steps[Math.min(steps.length - 1, index + 1)]!)
  const back = () => go(steps[Math.max(0, index - 1)]!)

  return (
    <main id="main" className="wizard">
      <header className="wizard-head">
        <p className="muted">Setting up Flash Box</p>
        <ol className="stepper" aria-label="Setup steps">
          {steps.map((s, i) => (
            <li
              key={s}
              aria-current={s === step ? 'step' : undefined}
              className={i < index ? 'done' : s === step ? 'current' : ''}
            >
              <span className="visually-hidden">{i < index ? 'Done: ' : ''}</span>
              {stepTitles[s]}
            </li>
          ))}
        </ol>
      </header>
      <section className="card wizard-card" aria-labelledby="wizard-step-title">
        <h1 id="wizard-step-title" ref={heading} tabIndex={-1}>
          Step {index + 1} of {steps.length}: {stepTitles[step]}
        </h1>
        {step === 'docker' && <DockerStep onNext={next} />}
        {step === 'network' && (
          <NetworkStep settings={settings} onChange={setSettings} onBack={back} onNext={next} />
        )}
        {step === 'storage' && (
          <StorageStep settings={settings} onChange={setSettings} onBack={back} onNext={next} />
        )}
        {step === 'services' && (
          <ServicesStep settings={settings} onChange={setSettings} onBack={back} onNext={next} />
        )}
        {step === 'download' && <DownloadStep settings={settings} onBack={back} onNext={next} />}
        {step === 'start' && <StartStep onDone={onDone} />}
      </section>
      {step === 'docker' && (
        <section className="card wizard-card" aria-labelledby="wizard-restore">
          <details>
            <summary id="wizard-restore">Had a Flash Box before? Restore it from a backup</summary>
            <RestoreFromBackup />
          </details>
        </section>
      )}
    </main>
  )
}

function Nav({
  onBack,
  onNext,
  nextLabel = 'Next',
  nextDisabled,
  nextDescribedBy,
}: {
  onBack?: () => void
  onNext: () => void
  nextLabel?: string
  nextDisabled?: boolean
  /** The id of the sentence that says why Next is off. */
  nextDescribedBy?: string
}) {
  return (
    <div className="wizard-nav">
      {onBack && (
        <button type="button" onClick={onBack}>
          Back
        </button>
      )}
      <span className="spacer" />
      <button
        type="button"
        className="primary"
        onClick={onNext}
        disabled={nextDisabled}
        aria-describedby={nextDescribedBy}
      >
        {nextLabel}
      </button>
    </div>
  )
}

function DockerStep({ onNext }: { onNext: () => void }) {
  const docker = useQuery(() => api.stack.detectDocker({}), [])
  const d = docker.data
  const help = d ? dockerHelp(d) : null
  return (
    <>
      <p>
        Flash Box runs each part of your Bitcoin stack in its own Docker container, so they stay
        separate and easy to update.
      </p>
      {docker.loading && <Spinner label="Looking for Docker…" />}
      {docker.error && <ErrorBox error={docker.error} />}
      {d && !docker.loading && (
        <div role="status" data-docker-state={d.state}>
          {d.state === 'running' ? (
            <p className="notice tone-ok">
              Docker {d.version ?? ''} is running. You are ready to go.
            </p>
          ) : (
            <>
              {d.problem && <ErrorBox error={d.problem} />}
              {help && (
                <div className="help-box">
                  <h2>{help.title}</h2>
                  <ol>
                    {help.steps.map((s) => (
                      <li key={s}>{s}</li>
                    ))}
                  </ol>
                  {help.commands.length > 0 && (
                    <pre tabIndex={0}>
                      <code>{help.commands.join('\n')}</code>
                    </pre>
                  )}
                </div>
              )}
            </>
          )}
        </div>
      )}
      <div className="wizard-nav">
        <button type="button" onClick={docker.refresh} disabled={docker.loading}>
          Check again
        </button>
        <span className="spacer" />
        <button
          type="button"
          className="primary"
          onClick={onNext}
          disabled={d?.state !== 'running'}
        >
          Next
        </button>
      </div>
    </>
  )
}

interface StepProps {
  settings: Settings
  onChange: (s: Settings) => void
  onBack: () => void
  onNext: () => void
}

function NetworkStep({ settings, onChange, onBack, onNext }: StepProps) {
  const name = useId()
  return (
    <>
      <fieldset className="choices">
        <legend>Which Bitcoin network should this box use?</legend>
        {networkChoices.map((n) => (
          <label key={n.id} className={`choice ${settings.network === n.id ? 'selected' : ''}`}>
            <input
              type="radio"
              name={name}
              value={n.id}
              checked={settings.network === n.id}
              onChange={() => onChange({ ...settings, network: n.id })}
            />
            <span>
              <strong>{n.title}</strong>
              <span className="choice-explain">{n.explain}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <Nav onBack={onBack} onNext={onNext} />
    </>
  )
}

/** Ask the engine whether these settings fit (disk space, combinations), a moment after edits. */
function useSettingsCheck(settings: Settings, enabled = true) {
  const [result, setResult] = useState<{
    for: Settings
    check: SettingsCheck | null
    error: ApiError | null
  } | null>(null)
  const wanted = enabled && settings.dataDir.trim() !== ''
  useEffect(() => {
    if (!wanted) return
    let alive = true
    const t = setTimeout(() => {
      api.stack.checkSettings(settings).then(
        (check) => alive && setResult({ for: settings, check, error: null }),
        (err: unknown) =>
          alive && setResult({ for: settings, check: null, error: toApiError(err) }),
      )
    }, 350)
    return () => {
      alive = false
      clearTimeout(t)
    }
  }, [settings, wanted])
  if (!wanted) return { check: null, error: null, checking: false }
  const fresh = result?.for === settings
  return {
    check: result?.check ?? null,
    error: fresh ? (result?.error ?? null) : null,
    checking: !fresh,
  }
}

/** A full path: from the top of the disk (/…), or a Windows drive or share. */
export function isFullPath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\')
}

/** Problems that are about the folder itself (they keep Next off on this step). */
const folderProblem = (code: string) => /data_?dir|disk/.test(code)

function StorageStep({ settings, onChange, onBack, onNext }: StepProps) {
  const why = useId()
  const dir = settings.dataDir.trim()
  const full = isFullPath(dir)
  // A relative path is not checked at all: its free space would be measured somewhere else.
  const { check, error, checking } = useSettingsCheck(settings, full)
  const diskShort = check ? check.disk.freeBytes < check.disk.neededBytes : false
  const blocking = check?.problems.filter((p) => folderProblem(p.code)) ?? []
  const others = check?.problems.filter((p) => !folderProblem(p.code)) ?? []
  const reason = !dir
    ? 'Choose a folder first.'
    : !full
      ? `“${dir}” is not a full path. Press Choose… to pick the folder, or type a full path that starts at the top of the disk, such as /home/you/flashbox.`
      : checking
        ? 'Checking the free space…'
        : error
          ? 'The folder could not be checked (see above).'
          : diskShort
            ? 'There is not enough free space in this folder’s disk.'
            : blocking[0]
              ? blocking[0].message
              : undefined
  return (
    <>
      <FolderPicker
        label="Where should Flash Box keep its data?"
        dialogTitle="Choose where Flash Box keeps its data"
        value={settings.dataDir}
        onChange={(dataDir) => onChange({ ...settings, dataDir })}
        help={
          <p className="help">
            A folder on a disk with plenty of room. Everything the box owns — the blockchain, your
            wallets, your shop’s data — lives under it. It is created if it does not exist yet.
          </p>
        }
      />
      <PruneFields
        prune={settings.prune}
        onChange={(prune) => onChange({ ...settings, prune })}
        label="Save space: keep only recent blocks (pruning). Some services, like the Electrum index, need the whole chain."
      />
      <div aria-live="polite">
        {full && checking && <Spinner label="Checking free space…" />}
        {full && error && <ErrorBox error={error} />}
        {full && check && !checking && (
          <>
            <Progress
              label={`Space needed on ${check.disk.path}`}
              value={check.disk.neededBytes}
              max={Math.max(check.disk.freeBytes, 1)}
              text={`${formatBytes(check.disk.neededBytes)} needed, ${formatBytes(check.disk.freeBytes)} free`}
            />
            {diskShort ? (
              <p className="notice tone-bad" role="alert">
                Not enough free space here. Choose a bigger disk, or switch on pruning.
              </p>
            ) : (
              <p className="notice tone-ok">There is enough room.</p>
            )}
            <Problems problems={blocking.filter((p) => !/disk/.test(p.code))} />
            <Problems problems={others} />
          </>
        )}
      </div>
      {reason && (
        <p className="notice tone-warn" id={why} data-testid="next-disabled-reason">
          <strong>Next is not available yet:</strong> {reason}
        </p>
      )}
      <Nav
        onBack={onBack}
        onNext={onNext}
        nextDisabled={reason !== undefined}
        nextDescribedBy={reason ? why : undefined}
      />
    </>
  )
}

function Problems({ problems }: { problems: SettingsCheck['problems'] }) {
  if (!problems.length) return null
  return (
    <ul className="problems">
      {problems.map((p) => (
        <li key={p.code + p.message} className="notice tone-warn">
          <p className="notice-message">{p.message}</p>
          <p className="notice-hint">{p.hint}</p>
        </li>
      ))}
    </ul>
  )
}

function ServicesStep({ settings, onChange, onBack, onNext }: StepProps) {
  const catalog = useQuery(() => api.stack.catalog({}), [])
  const { check } = useSettingsCheck(settings)
  const list = useMemo(() => catalog.data ?? [], [catalog.data])
  const total = useMemo(
    () =>
      list
        .filter((s) => !isOptional(s.id) || settings.services[s.id])
        .reduce((n, s) => n + (s.downloadBytes ?? 0), 0),
    [list, settings.services],
  )
  return (
    <>
      {catalog.error && <ErrorBox error={catalog.error} />}
      {catalog.loading && <Spinner label="Loading the services…" />}
      <ServiceChoices
        legend="What should this box run?"
        catalog={list}
        settings={settings}
        onChange={onChange}
        showDownloads
      />
      {total > 0 && <p>Total download: about {formatBytes(total)}.</p>}
      {check && <Problems problems={check.problems} />}
      <Nav onBack={onBack} onNext={onNext} nextDisabled={!catalog.data} />
    </>
  )
}

interface ImageProgress {
  serviceId: string
  image: string
  current: number
  total: number
  done: boolean
}

function DownloadStep({
  settings,
  onBack,
  onNext,
}: {
  settings: Settings
  onBack: () => void
  onNext: () => void
}) {
  const [problems, setProblems] = useState<SettingsCheck['problems']>([])
  const [progress, setProgress] = useState<Record<string, ImageProgress>>({})
  const [finished, setFinished] = useState(false)
  const save = useMutation((s: Settings) => api.stack.saveSettings(s))
  const pull = useMutation(() => api.stack.pullImages({}))

  useEvent('stack', (e) => {
    if (e.type !== 'image-progress') return
    setProgress((p) => ({
      ...p,
      [e.image]: {
        serviceId: e.serviceId,
        image: e.image,
        current: e.current,
        total: e.total,
        done: e.done,
      },
    }))
  })

  const begin = async () => {
    setProblems([])
    const check = await save.run(settings)
    if (!check) return
    if (!check.ok) {
      setProblems(check.problems)
      return
    }
    await pull.run(undefined)
    // pullImages resolves once every image is present; a failure leaves pull.error set.
    setFinished(true)
  }

  const items = Object.values(progress)
  const sum = items.reduce(
    (a, i) => ({ c: a.c + (i.done ? i.total || 1 : i.current), t: a.t + (i.total || 1) }),
    { c: 0, t: 0 },
  )
  const started = save.pending || pull.pending || finished || items.length > 0
  const ok = finished && !pull.error

  return (
    <>
      {!started && (
        <>
          <p>Ready. Flash Box will save these choices and fetch what it needs:</p>
          <Review settings={settings} />
        </>
      )}
      {save.error && <ErrorBox error={save.error} />}
      <Problems problems={problems} />
      {started && (
        <div aria-live="polite">
          {save.pending && <Spinner label="Saving your choices…" />}
          {items.length > 0 && <Progress label="All downloads" value={sum.c} max={sum.t} />}
          <ul className="downloads">
            {items.map((i) => (
              <li key={i.image}>
                <Progress
                  label={i.serviceId}
                  value={i.done ? 1 : i.current}
                  max={i.done ? 1 : Math.max(1, i.total)}
                  text={
                    i.done
                      ? 'Ready'
                      : i.total
                        ? `${formatBytes(i.current)} of ${formatBytes(i.total)}`
                        : 'Preparing…'
                  }
                />
              </li>
            ))}
          </ul>
          {pull.pending && items.length === 0 && <Spinner label="Preparing the downloads…" />}
          {pull.error && <ErrorBox error={pull.error} title="A download failed." />}
          {ok && <p className="notice tone-ok">Everything is downloaded.</p>}
        </div>
      )}
      <div className="wizard-nav">
        <button type="button" onClick={onBack} disabled={save.pending || pull.pending}>
          Back
        </button>
        <span className="spacer" />
        {ok ? (
          <button type="button" className="primary" onClick={onNext}>
            Next
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            onClick={() => void begin()}
            disabled={save.pending || pull.pending}
          >
            {pull.error || problems.length ? 'Try again' : 'Save and download'}
          </button>
        )}
      </div>
    </>
  )
}

function Review({ settings }: { settings: Settings }) {
  const network = networkChoices.find((n) => n.id === settings.network)
  const on = Object.entries(settings.services)
    .filter(([, v]) => v)
    .map(([k]) => k)
  return (
    <dl className="facts">
      <dt>Network</dt>
      <dd>{network?.title ?? settings.network}</dd>
      <dt>Data folder</dt>
      <dd>
        <code>{settings.dataDir}</code>
      </dd>
      <dt>Pruning</dt>
      <dd>{settings.prune.enabled ? `${settings.prune.targetMiB} MiB` : 'Off'}</dd>
      <dt>Services</dt>
      <dd>Bitcoin{on.length ? `, ${on.join(', ')}` : ''}</dd>
    </dl>
  )
}

function StartStep({ onDone }: { onDone: () => void }): ReactNode {
  const start = useMutation(() => api.stack.start({}).then(() => true))
  const [started, setStarted] = useState(false)
  const go = async () => {
    if (await start.run(undefined)) setStarted(true)
  }
  return (
    <>
      {!started && (
        <p>
          Everything is in place. Start the services now; the dashboard then shows each one as it
          comes up.
        </p>
      )}
      {start.pending && <Spinner label="Starting your stack…" />}
      {start.error && <ErrorBox error={start.error} />}
      {started && (
        <p className="notice tone-ok" role="status">
          Your stack is starting. The first sync of the blockchain can take a while; the dashboard
          shows how far it is.
        </p>
      )}
      <div className="wizard-nav">
        <span className="spacer" />
        {started ? (
          <button type="button" className="primary" onClick={onDone}>
            Open the dashboard
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            onClick={() => void go()}
            disabled={start.pending}
          >
            {start.error ? 'Try again' : 'Start Flash Box'}
          </button>
        )}
      </div>
    </>
  )
}
