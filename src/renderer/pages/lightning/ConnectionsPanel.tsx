// Connections: the owner's apps using the box's Lightning wallet over Nostr Wallet Connect
// (NIP-47). Each gets its own keys, the methods it may call and a budget; the connection string
// (the app's secret) is shown once, right after it is made, and the box does not keep it.
// Revoking asks for confirmation first.
import { useState } from 'react'
import {
  NWC_METHODS,
  type BudgetPeriod,
  type CreatedNwcConnection,
  type NwcConnectionView,
  type NwcMethod,
} from '../../../shared/api/wallet-service'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import { CopyButton } from '../ecash/CopyButton'
import { sats } from '../ecash/sats'
import { CheckboxField, SelectField, TextField } from '../../shell/TextField'

export const methodWords: Record<NwcMethod, string> = {
  pay_invoice: 'Pay invoices',
  make_invoice: 'Create invoices',
  lookup_invoice: 'Look up its invoices and payments',
  get_balance: 'See the balance',
  get_info: 'See the node’s name and network',
  list_transactions: 'List its invoices and payments',
}

const periodWords: Record<BudgetPeriod, string> = {
  daily: 'per day',
  weekly: 'per week',
  monthly: 'per month',
  total: 'in total',
}

const onThisComputerOnly = (relays: readonly string[]) =>
  relays.every((r) => /^wss?:\/\/(127\.|localhost|\[::1\])/.test(r))

export function ConnectionsPanel() {
  const list = useQuery(() => api.walletService.connections({}), [])
  useEvent('walletService', () => list.refresh())
  const [made, setMade] = useState<CreatedNwcConnection>()

  return (
    <section aria-labelledby="ln-connections">
      <h2 id="ln-connections">Connections</h2>
      <p className="muted">
        Let an app (a Nostr client, a point-of-sale) use this wallet through Nostr Wallet Connect.
        Each app gets its own key, only the actions you allow, and a spending budget.
      </p>
      {made ? (
        <ShownOnce made={made} onDone={() => setMade(undefined)} />
      ) : (
        <NewConnection onMade={setMade} />
      )}
      <h3>Your apps</h3>
      {list.error && <ErrorBox error={list.error} />}
      {!list.data && !list.error && <Spinner label="Loading connections…" />}
      {list.data?.length === 0 && <p className="muted">No app is connected yet.</p>}
      {list.data && list.data.length > 0 && (
        <ul style={{ listStyle: 'none', padding: 0 }} aria-label="Connected apps">
          {list.data.map((c) => (
            <ConnectionRow key={c.id} c={c} onChanged={(next) => list.setData(next)} />
          ))}
        </ul>
      )}
    </section>
  )
}

function NewConnection({ onMade }: { onMade: (c: CreatedNwcConnection) => void }) {
  const [name, setName] = useState('')
  const [methods, setMethods] = useState<NwcMethod[]>([
    'pay_invoice',
    'get_balance',
    'get_info',
    'lookup_invoice',
    'list_transactions',
  ])
  const [budget, setBudget] = useState('10000')
  const [period, setPeriod] = useState<BudgetPeriod>('daily')
  const [relay, setRelay] = useState('')
  const create = useMutation((i: Parameters<typeof api.walletService.createConnection>[0]) =>
    api.walletService.createConnection(i),
  )
  const n = Number(budget)
  const budgetOk = budget === '' || (Number.isInteger(n) && n > 0)
  const valid = name.trim() !== '' && methods.length > 0 && budgetOk

  return (
    <form
      aria-label="New connection"
      onSubmit={async (e) => {
        e.preventDefault()
        if (!valid) return
        const c = await create.run({
          name: name.trim(),
          methods,
          budgetSat: budget === '' ? null : n,
          budgetPeriod: period,
          relays: relay.trim() ? [relay.trim()] : [],
        })
        if (c) onMade(c)
      }}
    >
      <TextField
        id="nwc-name"
        label="App name"
        maxLength={64}
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <fieldset>
        <legend>It may</legend>
        {NWC_METHODS.map((m) => (
          <CheckboxField
            key={m}
            label={methodWords[m]}
            checked={methods.includes(m)}
            onChange={(e) =>
              setMethods(e.target.checked ? [...methods, m] : methods.filter((x) => x !== m))
            }
          />
        ))}
      </fieldset>
      <TextField
        id="nwc-budget"
        label="Budget (sat, empty for none)"
        hint="A payment counts its amount and its fee limit against the budget until it settles; then only what it really cost. The box’s limit per payment (Node → Limits) applies too."
        inputMode="numeric"
        value={budget}
        onChange={(e) => setBudget(e.target.value.replace(/[^0-9]/g, ''))}
      />
      <SelectField
        label="Budget renews"
        value={period}
        onChange={(e) => setPeriod(e.target.value as BudgetPeriod)}
      >
        {(Object.keys(periodWords) as BudgetPeriod[]).map((p) => (
          <option key={p} value={p}>
            {periodWords[p]}
          </option>
        ))}
      </SelectField>
      <TextField
        id="nwc-relay"
        label="Extra relay (optional, wss://…)"
        hint="The box’s own relay is always used, at the address set in Settings → Reachability. Without one it listens on this computer only, so an app on your phone needs a public relay here."
        placeholder="wss://relay.example.com"
        value={relay}
        onChange={(e) => setRelay(e.target.value)}
      />
      <button type="submit" className="primary" disabled={!valid || create.pending}>
        {create.pending ? 'Connecting…' : 'Create connection'}
      </button>
      {create.error && <ErrorBox error={create.error} />}
    </form>
  )
}

function ShownOnce({ made, onDone }: { made: CreatedNwcConnection; onDone: () => void }) {
  return (
    <div className="card" role="region" aria-label="Connection string">
      <p className="notice tone-warn">
        Shown once: scan or copy it into {made.connection.name} now. Anyone holding it can use the
        wallet within this connection’s budget. Flash Box does not keep it; if it is lost, make a
        new connection and revoke this one.
      </p>
      {made.qr && (
        <img
          src={made.qr}
          alt="QR code of the connection string"
          width={280}
          height={280}
          style={{ background: '#fff' }}
        />
      )}
      <p>
        <code style={{ overflowWrap: 'anywhere' }} data-testid="nwc-uri">
          {made.uri}
        </code>
      </p>
      <CopyButton text={made.uri} label="Copy connection string" />
      {onThisComputerOnly(made.connection.relays) && (
        <p className="muted">
          This connection uses only the box’s relay, which only apps on this computer can reach. For
          an app on your phone, set an address in Settings → Reachability and make a new connection,
          or add a public relay.
        </p>
      )}
      <button type="button" onClick={onDone}>
        Done, hide it
      </button>
    </div>
  )
}

function ConnectionRow({
  c,
  onChanged,
}: {
  c: NwcConnectionView
  onChanged: (list: readonly NwcConnectionView[]) => void
}) {
  const [confirming, setConfirming] = useState(false)
  const revoke = useMutation(() => api.walletService.revokeConnection({ id: c.id }))
  return (
    <li className="card" aria-label={c.name}>
      <h4>
        {c.name} {c.revokedAt ? <Badge tone="off">Revoked</Badge> : <Badge tone="ok">Active</Badge>}
      </h4>
      <dl className="facts">
        <dt>May</dt>
        <dd>{c.methods.map((m) => methodWords[m]).join(', ')}</dd>
        <dt>Budget</dt>
        <dd>
          {c.budgetSat === null
            ? 'No budget of its own'
            : `${sats(c.budgetSat)} ${periodWords[c.budgetPeriod]}`}
        </dd>
        <dt>Spent</dt>
        <dd data-testid={`nwc-spent-${c.id}`}>
          {sats(c.spentSat)}
          {c.remainingSat !== null && ` · ${sats(c.remainingSat)} left`}
          {c.renewsAt && ` · renews ${new Date(c.renewsAt).toLocaleString()}`}
        </dd>
        <dt>Relays</dt>
        <dd>{c.relays.join(', ')}</dd>
        <dt>Last used</dt>
        <dd>{c.lastUsedAt ? new Date(c.lastUsedAt).toLocaleString() : 'never'}</dd>
      </dl>
      {c.boxRelayNow && (
        <p className="notice tone-warn" role="note">
          The box’s relay has moved to {c.boxRelayNow} since this connection was made (Settings →
          Reachability). {c.name} was given the old address: if it can no longer reach your wallet,
          make a new connection for it above, scan it in the app, then revoke this one.
        </p>
      )}
      {!c.revokedAt && !confirming && (
        <button type="button" onClick={() => setConfirming(true)}>
          Revoke
        </button>
      )}
      {!c.revokedAt && confirming && (
        <div role="alertdialog" aria-label={`Revoke ${c.name}`}>
          <p>
            Revoke {c.name}? It can no longer use your wallet; payments it already made stay made.
          </p>
          <button
            type="button"
            className="danger"
            disabled={revoke.pending}
            onClick={async () => {
              const next = await revoke.run(undefined)
              if (next) {
                setConfirming(false)
                onChanged(next)
              }
            }}
          >
            Yes, revoke
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </div>
      )}
      {revoke.error && <ErrorBox error={revoke.error} />}
    </li>
  )
}
