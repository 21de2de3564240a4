// The box's own Nostr relay: who is connected, what it stores, its rules (editable), who may
// publish, and what it refused lately and why.
import { inputProblem } from '../../../shared/api/input-problems'
import { explainRelayReason } from '../../../shared/api/relay-reasons'
import { useState } from 'react'
import { nip19 } from 'nostr-tools'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { formatBytes, formatNumber } from '../../format'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import {
  RelayPolicySchema,
  type RelayPolicy,
  type RelayRejection,
  type RelayStatus,
} from '../../../shared/api/relay'
import type { PageProps } from '../types'
import { SelectField, TextField } from '../../shell/TextField'

/** npub1… or 64 hex characters → hex; undefined when neither. */
export function toHexPubkey(input: string): string | undefined {
  const s = input.trim()
  if (/^[0-9a-f]{64}$/i.test(s)) return s.toLowerCase()
  if (s.startsWith('npub1')) {
    try {
      const d = nip19.decode(s)
      if (d.type === 'npub') return d.data
    } catch {
      return undefined
    }
  }
  return undefined
}

const short = (hex: string) => {
  try {
    const n = nip19.npubEncode(hex)
    return `${n.slice(0, 12)}…${n.slice(-6)}`
  } catch {
    return hex.slice(0, 12) + '…'
  }
}

const whatLabel: Record<RelayRejection['what'], string> = {
  event: 'Post',
  req: 'Read',
  count: 'Count',
  auth: 'Sign-in',
  message: 'Message',
  connection: 'Connection',
}

export default function RelayPage(_props: PageProps) {
  const status = useQuery(() => api.relay.status({}), [])
  const lists = useQuery(() => api.relay.lists({}), [])
  const rejections = useQuery(() => api.relay.rejections({ limit: 50 }), [])

  useEvent('relay', (e) => {
    if (e.type === 'status') status.setData(e.status)
    if (e.type === 'rejection')
      rejections.setData((prev) => [e.rejection, ...(prev ?? [])].slice(0, 50))
  })

  return (
    <div className="page">
      <h1>Relay</h1>
      <p className="muted">
        Your own Nostr relay: your shop’s posts, messages and staff room live here, on this box.
      </p>
      <StatusSection status={status.data} error={status.error} />
      {status.data && (
        <PolicySection
          policy={status.data.policies}
          onSaved={(p) => status.setData((s) => (s ? { ...s, policies: p } : s))}
        />
      )}
      <section aria-labelledby="relay-members">
        <h2 id="relay-members">Members and bans</h2>
        {lists.error && <ErrorBox error={lists.error} />}
        {!lists.data && !lists.error && <Spinner label="Loading lists…" />}
        {lists.data && (
          <>
            <PubkeyList
              title="Allowed"
              list="allowed-pubkey"
              entries={lists.data.allowedPubkeys}
              onChange={(l) => lists.setData(l)}
              addLabel="Allow a key (npub or hex)"
              help={
                status.data?.policies.writes === 'allow-list'
                  ? 'Only these keys (and the box’s admin) may publish.'
                  : 'Publishing is open to everyone; this list applies when you choose “members only”.'
              }
            />
            <PubkeyList
              title="Banned"
              list="banned-pubkey"
              entries={lists.data.bannedPubkeys}
              onChange={(l) => lists.setData(l)}
              addLabel="Ban a key (npub or hex)"
              help="Banned keys can no longer publish here."
            />
          </>
        )}
      </section>
      <section aria-labelledby="relay-rejections">
        <h2 id="relay-rejections">Recently refused</h2>
        {rejections.error && <ErrorBox error={rejections.error} />}
        {rejections.data && rejections.data.length === 0 && (
          <p className="muted">Nothing refused lately.</p>
        )}
        {rejections.data && rejections.data.length > 0 && (
          <table aria-label="Recently refused">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Why</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {rejections.data.map((r, i) => (
                <tr key={`${r.at}-${i}`}>
                  <td>{new Date(r.at).toLocaleTimeString()}</td>
                  <td>
                    {whatLabel[r.what]}
                    {r.kind !== undefined ? ` (kind ${r.kind})` : ''}
                  </td>
                  <td>{explainRelayReason(r.reason)}</td>
                  <td>{r.pubkey ? short(r.pubkey) : r.ip}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <BackupSection />
    </div>
  )
}

function StatusSection({
  status,
  error,
}: {
  status: RelayStatus | undefined
  error: Parameters<typeof ErrorBox>[0]['error'] | undefined
}) {
  return (
    <section aria-labelledby="relay-status">
      <h2 id="relay-status">Status</h2>
      {error && <ErrorBox error={error} />}
      {!status && !error && <Spinner label="Loading the relay’s status…" />}
      {status && (
        <>
          {status.problem && <ErrorBox error={status.problem} />}
          <dl className="facts">
            <dt>State</dt>
            <dd>
              <Badge tone={status.running ? 'ok' : 'bad'}>
                {status.running ? 'Running' : 'Stopped'}
              </Badge>
            </dd>
            {status.url && (
              <>
                <dt>Address on this machine</dt>
                <dd>
                  <code>{status.url}</code>
                </dd>
              </>
            )}
            <dt>Connections</dt>
            <dd>{formatNumber(status.connections)}</dd>
            <dt>Events stored</dt>
            <dd>{formatNumber(status.eventsStored)}</dd>
            <dt>Storage used</dt>
            <dd>{formatBytes(status.storageBytes)}</dd>
          </dl>
        </>
      )}
    </section>
  )
}

type Bucket = { perMinute: number; burst: number } | null

function PolicySection({
  policy,
  onSaved,
}: {
  policy: RelayPolicy
  onSaved: (p: RelayPolicy) => void
}) {
  const [draft, setDraft] = useState<RelayPolicy>(policy)
  const [kindsText, setKindsText] = useState(policy.kinds.allowed.join(', '))
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const save = useMutation((p: RelayPolicy) => api.relay.setPolicies({ policies: p }))
  const set = (patch: Partial<RelayPolicy>) => setDraft((d) => ({ ...d, ...patch }))
  const setRate = (key: keyof RelayPolicy['rateLimits'], perMinute: number | null) =>
    set({
      rateLimits: {
        ...draft.rateLimits,
        [key]:
          perMinute === null
            ? null
            : ({ perMinute, burst: Math.max(1, Math.ceil(perMinute / 6)) } satisfies Bucket),
      },
    })

  const submit = async () => {
    const kinds = kindsText
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number)
    const parsed = RelayPolicySchema.safeParse({
      ...draft,
      kinds: { ...draft.kinds, allowed: kinds },
    })
    if (!parsed.success) {
      setProblem(inputProblem(parsed.error.issues).message)
      return
    }
    setProblem(undefined)
    const saved = await save.run(parsed.data)
    if (saved) {
      setDraft(saved)
      onSaved(saved)
    }
  }

  const rate = (key: keyof RelayPolicy['rateLimits'], label: string) => {
    const b = draft.rateLimits[key]
    const id = `relay-rate-${key}`
    return (
      <TextField
        id={id}
        label={<>{label} (per minute; empty = no limit)</>}
        type="number"
        min={1}
        value={b?.perMinute ?? ''}
        onChange={(e) => setRate(key, e.target.value === '' ? null : Number(e.target.value))}
      />
    )
  }

  return (
    <section aria-labelledby="relay-policies">
      <h2 id="relay-policies">Rules</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        <SelectField
          id="relay-writes"
          label="Who may publish"
          value={draft.writes}
          onChange={(e) => set({ writes: e.target.value as RelayPolicy['writes'] })}
        >
          <option value="open">Everyone</option>
          <option value="allow-list">Members only (the allowed keys below)</option>
        </SelectField>
        <SelectField
          id="relay-reads"
          label="Who may read"
          value={draft.reads}
          onChange={(e) => set({ reads: e.target.value as RelayPolicy['reads'] })}
        >
          <option value="open">Everyone</option>
          <option value="authenticated">Anyone who signs in</option>
          <option value="allow-list">Members only</option>
        </SelectField>
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={draft.authForWrites}
              onChange={(e) => set({ authForWrites: e.target.checked })}
            />{' '}
            Require signing in before publishing
          </label>
        </div>
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={draft.groups.enabled}
              onChange={(e) => set({ groups: { ...draft.groups, enabled: e.target.checked } })}
            />{' '}
            Group chats (staff rooms) on this relay
          </label>
        </div>
        <TextField
          id="relay-kinds"
          label="Only these kinds of events (empty = all)"
          value={kindsText}
          placeholder="e.g. 0, 1, 7, 1059"
          onChange={(e) => setKindsText(e.target.value)}
        />
        <TextField
          id="relay-pow"
          label="Proof of work required (0 = off)"
          type="number"
          min={0}
          max={64}
          value={draft.minPowDifficulty}
          onChange={(e) => set({ minPowDifficulty: Number(e.target.value) })}
        />
        <TextField
          id="relay-content"
          label="Largest post (bytes)"
          type="number"
          min={0}
          value={draft.limits.maxContentBytes}
          onChange={(e) =>
            set({ limits: { ...draft.limits, maxContentBytes: Number(e.target.value) } })
          }
        />
        <TextField
          id="relay-retention"
          label="Forget events older than (days; empty = keep forever)"
          type="number"
          min={1}
          value={draft.retention.find((r) => !r.kinds)?.maxAgeDays ?? ''}
          onChange={(e) => {
            // The rule for every kind; rules for particular kinds are kept as they are.
            const others = draft.retention.filter((r) => r.kinds)
            set({
              retention:
                e.target.value === ''
                  ? others
                  : [...others, { maxAgeDays: Number(e.target.value) }],
            })
          }}
        />
        {rate('eventsPerConnection', 'Posts per connection')}
        {rate('eventsPerPubkey', 'Posts per key')}
        {rate('eventsPerIp', 'Posts per address')}
        {rate('queriesPerConnection', 'Reads per connection')}
        {rate('queriesPerIp', 'Reads per address')}
        {problem && (
          <p className="notice tone-bad" role="alert">
            {problem}
          </p>
        )}
        {save.error && <ErrorBox error={save.error} />}
        <button type="submit" className="primary" disabled={save.pending}>
          {save.pending ? 'Saving…' : 'Save rules'}
        </button>
      </form>
    </section>
  )
}

function PubkeyList({
  title,
  list,
  entries,
  onChange,
  addLabel,
  help,
}: {
  title: string
  list: 'allowed-pubkey' | 'banned-pubkey'
  entries: readonly { value: string; reason: string }[]
  onChange: (l: Awaited<ReturnType<typeof api.relay.lists>>) => void
  addLabel: string
  help: string
}) {
  const [key, setKey] = useState('')
  const [reason, setReason] = useState('')
  const [invalid, setInvalid] = useState(false)
  const edit = useMutation(api.relay.editList)
  const id = `relay-${list}`
  return (
    <div className="card" aria-label={title} role="group">
      <h3>{title}</h3>
      <p className="help">{help}</p>
      {entries.length === 0 && <p className="muted">Nobody yet.</p>}
      <ul>
        {entries.map((e) => (
          <li key={e.value}>
            <code title={e.value}>{short(e.value)}</code> {e.reason && <span>— {e.reason}</span>}{' '}
            <button
              type="button"
              className="ghost"
              aria-label={`Remove ${short(e.value)} from ${title.toLowerCase()}`}
              onClick={async () => {
                const l = await edit.run({ list, action: 'remove', value: e.value })
                if (l) onChange(l)
              }}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const hex = toHexPubkey(key)
          setInvalid(!hex)
          if (!hex) return
          const l = await edit.run({ list, action: 'add', value: hex, reason })
          if (l) {
            onChange(l)
            setKey('')
            setReason('')
          }
        }}
      >
        <TextField
          id={`${id}-key`}
          label={<>{addLabel}</>}
          value={key}
          placeholder="npub1…"
          onChange={(e) => setKey(e.target.value)}
        />
        <TextField
          id={`${id}-reason`}
          label="Note (optional)"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
        {invalid && (
          <p className="notice tone-bad" role="alert">
            That is not a Nostr key. Paste the person’s npub (it starts with “npub1”).
          </p>
        )}
        {edit.error && <ErrorBox error={edit.error} />}
        <button type="submit" disabled={!key.trim() || edit.pending}>
          {list === 'allowed-pubkey' ? 'Allow' : 'Ban'}
        </button>
      </form>
    </div>
  )
}

function BackupSection() {
  const [path, setPath] = useState('')
  const backup = useMutation(api.relay.backup)
  const [done, setDone] = useState<string | undefined>(undefined)
  return (
    <section aria-labelledby="relay-backup">
      <h2 id="relay-backup">Backup</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setDone(undefined)
          const r = await backup.run({ path: path.trim() })
          if (r)
            setDone(
              `Saved ${formatNumber(r.events)} events (${formatBytes(r.bytes)}) to ${r.path}.`,
            )
        }}
      >
        <TextField
          id="relay-backup-path"
          label="Save a copy of the relay’s database to"
          value={path}
          placeholder="/media/usb/relay-backup.db"
          onChange={(e) => setPath(e.target.value)}
        />
        {backup.error && <ErrorBox error={backup.error} />}
        {done && (
          <p className="notice tone-ok" role="status">
            {done}
          </p>
        )}
        <button type="submit" disabled={!path.trim() || backup.pending}>
          {backup.pending ? 'Copying…' : 'Back up now'}
        </button>
      </form>
    </section>
  )
}
