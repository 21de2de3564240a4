// Settings → Reachability: how customers' phones reach the box (a public address, the shop's
// Wi-Fi, Tor), the check that the public address leads back here, the onion addresses, and the
// pairing QR codes — each saying which network path it uses and whether the phone must be on the
// shop's Wi-Fi.
import { useState } from 'react'
import type { AddressCheckResult, PairingTarget, ReachStatus } from '../../../shared/api/reach'
import type { ReachSettingsInput } from '../../../shared/reach'
import { api } from '../../api/client'
import { useMutation, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'
import { sectionHeadingId } from './sections'

function PairingCard({ t }: { t: PairingTarget }) {
  return (
    <li className="pairing-card" aria-label={t.title}>
      <h4>{t.title}</h4>
      <p>For: {t.apps}</p>
      <p>Network path: {t.path}</p>
      <p>
        {t.sameWifi
          ? 'The phone must be on the shop’s Wi-Fi.'
          : 'The phone does not need to be on the shop’s Wi-Fi.'}
      </p>
      {t.qr && <img src={t.qr} alt={`QR code: ${t.title}`} width={180} height={180} />}
      {t.text && (
        <p>
          <code>{t.text}</code>
        </p>
      )}
      {t.unavailable && <p className="muted">{t.unavailable}</p>}
    </li>
  )
}

function ReachForm({
  status,
  onSaved,
}: {
  status: ReachStatus
  onSaved: (s: ReachStatus) => void
}) {
  const saved = status.settings
  const [baseUrl, setBaseUrl] = useState(saved?.publicAddress?.baseUrl ?? '')
  const [tlsBeforeBox, setTlsBeforeBox] = useState(saved?.publicAddress?.tlsBeforeBox ?? false)
  const [proxies, setProxies] = useState((saved?.publicAddress?.proxyAddresses ?? []).join(', '))
  const [torOn, setTorOn] = useState(Boolean(saved?.tor))
  const [lndP2p, setLndP2p] = useState(saved?.tor?.lndP2p ?? false)
  const [lndRest, setLndRest] = useState(saved?.tor?.lndRest ?? false)
  const save = useMutation((input: ReachSettingsInput) => api.reach.save(input))
  const [done, setDone] = useState(false)

  const submit = () => {
    setDone(false)
    const input: ReachSettingsInput = {
      ...(saved ? { frontDoorPort: saved.frontDoorPort, enginePort: saved.enginePort } : {}),
      ...(baseUrl.trim()
        ? {
            publicAddress: {
              baseUrl: baseUrl.trim(),
              tlsBeforeBox,
              proxyAddresses: tlsBeforeBox
                ? proxies
                    .split(',')
                    .map((p) => p.trim())
                    .filter(Boolean)
                : [],
            },
          }
        : {}),
      ...(saved?.lan ? { lan: saved.lan } : {}),
      ...(torOn ? { tor: { lndP2p, lndRest } } : {}),
    }
    void save.run(input).then((r) => {
      if (r) {
        onSaved(r)
        setDone(true)
      }
    })
  }

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault()
        submit()
      }}
    >
      <h3>Public address</h3>
      <p>
        For owners with a domain and a port forward, or their own reverse proxy. Every address the
        box publishes (mint, relay, Nostr names, Lightning address, BTCPay) follows from it.
      </p>
      <div className="field">
        <label htmlFor="reach-base-url">Public address</label>
        <input
          id="reach-base-url"
          placeholder="https://shop.example.com"
          value={baseUrl}
          spellCheck={false}
          onChange={(e) => setBaseUrl(e.target.value)}
        />
      </div>
      <label>
        <input
          type="checkbox"
          checked={tlsBeforeBox}
          onChange={(e) => setTlsBeforeBox(e.target.checked)}
        />{' '}
        My own proxy or router handles HTTPS before the box
      </label>
      {tlsBeforeBox && (
        <div className="field">
          <label htmlFor="reach-proxies">Addresses of that proxy (comma-separated)</label>
          <input
            id="reach-proxies"
            placeholder="192.168.1.2"
            value={proxies}
            onChange={(e) => setProxies(e.target.value)}
          />
        </div>
      )}
      <h3>Shop Wi-Fi (LAN)</h3>
      <p className="muted">
        Not built yet: serving the box on the shop’s network with its own certificate authority (and
        its install page), the .local name and a one-time pairing code for the owner’s pages. Until
        then, use a public address or Tor.
      </p>
      <h3>Tor</h3>
      <label>
        <input type="checkbox" checked={torOn} onChange={(e) => setTorOn(e.target.checked)} /> Onion
        addresses for the mint, the relay and the checkout
      </label>
      {torOn && (
        <>
          <label>
            <input type="checkbox" checked={lndP2p} onChange={(e) => setLndP2p(e.target.checked)} />{' '}
            LND P2P over Tor (Lightning peers reach a box behind a home router)
          </label>
          <label>
            <input
              type="checkbox"
              checked={lndRest}
              onChange={(e) => setLndRest(e.target.checked)}
            />{' '}
            LND REST over Tor (your phone wallet, Zeus)
          </label>
        </>
      )}
      <p>Saved choices take effect when the stack starts again (Dashboard → Stop, then Start).</p>
      <button type="submit" disabled={save.pending}>
        {save.pending ? 'Saving…' : 'Save reachability'}
      </button>
      {save.error && <ErrorBox error={save.error} />}
      {done && (
        <p className="notice tone-ok" role="status">
          Saved.
        </p>
      )}
    </form>
  )
}

export function ReachSection() {
  const status = useQuery(() => api.reach.status({}), [])
  const check = useMutation(() => api.reach.checkAddress({}))
  const [checked, setChecked] = useState<AddressCheckResult | undefined>(undefined)
  const lndconnect = useMutation(() => api.reach.lndconnect({}))
  const [zeus, setZeus] = useState<PairingTarget | undefined>(undefined)
  const id = sectionHeadingId('reachability')
  const s = status.data
  return (
    <section aria-labelledby={id} className="settings-section">
      <h2 id={id}>Reachability</h2>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <Spinner label="Loading reachability…" />}
      {s && (
        <>
          {s.published ? (
            <p>
              Customers reach this box at <code>{s.published.base}</code>.
            </p>
          ) : (
            <p>Right now only this computer reaches the box’s services.</p>
          )}
          <ReachForm status={s} onSaved={(n) => status.setData(n)} />
          {s.published && (
            <>
              <button
                type="button"
                disabled={check.pending}
                onClick={() => {
                  setChecked(undefined)
                  void check.run(undefined).then((r) => r && setChecked(r))
                }}
              >
                {check.pending ? 'Checking…' : 'Check that the address leads here'}
              </button>
              {check.error && <ErrorBox error={check.error} />}
              {checked?.ok && (
                <p className="notice tone-ok" role="status">
                  The address leads to this box (checked with its {checked.via}).
                </p>
              )}
              {checked && !checked.ok && <ErrorBox error={checked.problem} />}
            </>
          )}
          {s.onions.length > 0 && (
            <>
              <h3>Onion addresses</h3>
              <dl className="facts">
                {s.onions.map((o) => (
                  <div key={o.name}>
                    <dt>{o.purpose}</dt>
                    <dd>
                      <code>{o.hostname}</code>
                    </dd>
                  </div>
                ))}
              </dl>
            </>
          )}
          <h3>Pair a phone</h3>
          <ul className="pairing-list">
            {s.pairing.map((t) =>
              t.id === 'lndconnect' && zeus ? (
                <PairingCard key={t.id} t={zeus} />
              ) : (
                <PairingCard key={t.id} t={t} />
              ),
            )}
          </ul>
          {!s.pairing.find((t) => t.id === 'lndconnect')?.unavailable && (
            <button
              type="button"
              disabled={lndconnect.pending}
              onClick={() => void lndconnect.run(undefined).then((r) => r && setZeus(r))}
            >
              Show the Zeus (lndconnect) code — it holds a key to your node
            </button>
          )}
          {lndconnect.error && <ErrorBox error={lndconnect.error} />}
        </>
      )}
    </section>
  )
}
