// Settings → Reachability: how customers' phones reach the box (a public address, the shop's
// Wi-Fi, Tor), the check that the public address leads back here, LAN mode's state (the CA install
// page and its QR, device pairing codes), the onion addresses, and the pairing QR codes — each saying which network path it uses and whether the phone must be on the
// shop's Wi-Fi.
import { useEffect, useState } from 'react'
import type {
  AddressCheckResult,
  LanView,
  PairingCodeView,
  PairingTarget,
  ReachStatus,
  TorView,
} from '../../../shared/api/reach'
import type { ReachSettingsInput } from '../../../shared/reach'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { ErrorBox, HintText, Spinner } from '../../shell/common'
import { sectionHeadingId } from './sections'
import { CheckboxField, SelectField, TextField } from '../../shell/TextField'

const TOR_POLL_MS = 4_000

/** Tor's progress in plain words, and tor.offline with what to do. */
function TorProgress({ tor }: { tor: TorView }) {
  return (
    <div className="tor-progress" aria-label="Tor progress">
      {tor.problem ? (
        <ErrorBox error={tor.problem} />
      ) : (
        <p className={tor.state === 'connected' ? 'notice tone-ok' : 'muted'} role="status">
          {tor.words}
        </p>
      )}
    </div>
  )
}

function PairingCard({ t, tor }: { t: PairingTarget; tor?: TorView | undefined }) {
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
      {t.overTor && !t.unavailable && tor && (
        <p className={tor.problem ? 'notice tone-bad' : 'muted'}>
          {tor.problem ? 'Tor: cannot reach the Tor network yet (see above).' : tor.words}
        </p>
      )}
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
  const [lanOn, setLanOn] = useState(Boolean(saved?.lan))
  const [lanIface, setLanIface] = useState(
    saved?.lan?.interface ?? status.interfaces[0]?.name ?? '',
  )
  const [lanName, setLanName] = useState(saved?.lan?.name ?? 'flashbox')
  const [lanPort, setLanPort] = useState(String(saved?.lan?.port ?? 443))
  const [ownerPort, setOwnerPort] = useState(String(saved?.lan?.ownerPort ?? 8443))
  const [caPort, setCaPort] = useState(String(saved?.lan?.caPort ?? 8090))
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
      ...(lanOn
        ? {
            lan: {
              interface: lanIface,
              name: lanName.trim().toLowerCase(),
              port: Number(lanPort),
              ownerPort: Number(ownerPort),
              caPort: Number(caPort),
            },
          }
        : {}),
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
      <TextField
        id="reach-base-url"
        label="Public address"
        placeholder="https://shop.example.com"
        value={baseUrl}
        spellCheck={false}
        onChange={(e) => setBaseUrl(e.target.value)}
      />
      <CheckboxField
        label="My own proxy or router handles HTTPS before the box"
        checked={tlsBeforeBox}
        onChange={(e) => setTlsBeforeBox(e.target.checked)}
      />
      {tlsBeforeBox && (
        <TextField
          id="reach-proxies"
          label="Addresses of that proxy (comma-separated)"
          placeholder="192.168.1.2"
          value={proxies}
          onChange={(e) => setProxies(e.target.value)}
        />
      )}
      <h3>Shop Wi-Fi (LAN)</h3>
      <p>
        Phones on the shop’s network reach the box at{' '}
        <code>https://{lanName || 'flashbox'}.local</code>, with a certificate from the box’s own
        authority (install it once per device from the page below). The owner’s pages are there too,
        behind the owner password and a one-time pairing code for each new device.
      </p>
      <CheckboxField
        label="Serve the shop’s network"
        checked={lanOn}
        onChange={(e) => setLanOn(e.target.checked)}
      />
      {lanOn && (
        <>
          {status.interfaces.length === 0 ? (
            <div className="field">
              <label htmlFor="reach-lan-interface">Network connection</label>
              <p className="muted" id="reach-lan-interface">
                This computer has no network connection other devices can use. Connect it to the
                shop’s Wi-Fi or cable, then reload this page.
              </p>
            </div>
          ) : (
            <SelectField
              id="reach-lan-interface"
              label="Network connection"
              value={lanIface}
              onChange={(e) => setLanIface(e.target.value)}
            >
              {lanIface && !status.interfaces.some((i) => i.name === lanIface) && (
                <option value={lanIface}>{lanIface} (not on this computer now)</option>
              )}
              {status.interfaces.map((i) => (
                <option key={i.name} value={i.name}>
                  {i.name} — {i.addresses.join(', ')}
                </option>
              ))}
            </SelectField>
          )}
          <TextField
            id="reach-lan-name"
            label="Name on the network (.local)"
            value={lanName}
            spellCheck={false}
            onChange={(e) => setLanName(e.target.value)}
          />
          <TextField
            id="reach-lan-port"
            label="Shop port (HTTPS)"
            inputMode="numeric"
            value={lanPort}
            onChange={(e) => setLanPort(e.target.value)}
          />
          <TextField
            id="reach-lan-owner-port"
            label="Owner’s pages port (HTTPS)"
            inputMode="numeric"
            value={ownerPort}
            onChange={(e) => setOwnerPort(e.target.value)}
          />
          <TextField
            id="reach-lan-ca-port"
            label="Certificate page port (plain HTTP)"
            inputMode="numeric"
            value={caPort}
            onChange={(e) => setCaPort(e.target.value)}
          />
        </>
      )}
      <h3>Tor</h3>
      <CheckboxField
        label="Onion addresses for the mint, the relay and the checkout"
        checked={torOn}
        onChange={(e) => setTorOn(e.target.checked)}
      />
      {torOn && (
        <>
          <CheckboxField
            label="LND P2P over Tor (Lightning peers reach a box behind a home router)"
            checked={lndP2p}
            onChange={(e) => setLndP2p(e.target.checked)}
          />
          <CheckboxField
            label="LND REST over Tor (your phone wallet, Zeus)"
            checked={lndRest}
            onChange={(e) => setLndRest(e.target.checked)}
          />
        </>
      )}
      <p>
        Saved choices take effect when the stack starts again (Dashboard → Stop everything, then
        Start everything).
      </p>
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

function LanPanel({
  lan,
  pending,
  onForgotten,
}: {
  lan: LanView
  pending?: PairingCodeView
  onForgotten: (s: ReachStatus) => void
}) {
  const newCode = useMutation(() => api.reach.newPairingCode({}))
  const forget = useMutation(() => api.reach.forgetDevices({}))
  const [code, setCode] = useState<PairingCodeView | undefined>(pending)
  // The engine offers only a code still valid; the time shown says how long it stays so.
  const shown = code
  return (
    <div className="lan-panel" aria-label="Shop network status">
      <h3>Shop network now</h3>
      {lan.problem && <ErrorBox error={lan.problem} />}
      <dl className="facts">
        <div>
          <dt>Shop address</dt>
          <dd>
            <code>{lan.url}</code>
          </dd>
        </div>
        <div>
          <dt>Owner’s pages</dt>
          <dd>
            <code>{lan.ownerUrl}</code>
          </dd>
        </div>
        <div>
          <dt>This computer on the shop’s network</dt>
          <dd>{lan.address ?? 'not connected'}</dd>
        </div>
        <div>
          <dt>{lan.host} announced (mDNS)</dt>
          <dd>{lan.announced ? 'yes' : 'no'}</dd>
        </div>
        <div>
          <dt>Paired devices</dt>
          <dd>{lan.pairedDevices}</dd>
        </div>
      </dl>
      <h4>Install the certificate on a shop device</h4>
      {lan.caPageUrl ? (
        <>
          <p>
            Scan this on the phone or tablet (on the shop’s Wi-Fi), download the certificate and
            install it. Check that the fingerprint the page shows is this one:
          </p>
          <p>
            <code className="fingerprint">{lan.caFingerprint}</code>
          </p>
          {lan.caPageQr && (
            <img
              src={lan.caPageQr}
              alt="QR code: certificate install page"
              width={180}
              height={180}
            />
          )}
          <p>
            <a href={lan.caPageUrl} target="_blank" rel="noreferrer">
              {lan.caPageUrl}
            </a>
          </p>
        </>
      ) : (
        <p className="muted">
          The certificate is made when the stack starts with LAN mode on (while you are logged in).
        </p>
      )}
      <h4>Pair a device with the owner’s pages</h4>
      {lan.ownerDoorProblem && <ErrorBox error={lan.ownerDoorProblem} />}
      <p>
        A new device opening <code>{lan.ownerUrl}</code> asks for the owner password and a pairing
        code. Each code works once, for 10 minutes.
      </p>
      <button
        type="button"
        disabled={newCode.pending}
        onClick={() => void newCode.run(undefined).then((c) => c && setCode(c))}
      >
        New pairing code
      </button>
      {newCode.error && <ErrorBox error={newCode.error} />}
      {shown && (
        <p className="notice" role="status">
          Pairing code: <code className="pairing-code">{shown.code}</code> (until{' '}
          {new Date(shown.expiresAt).toLocaleTimeString()})
        </p>
      )}
      {lan.pairedDevices > 0 && (
        <button
          type="button"
          disabled={forget.pending}
          onClick={() => void forget.run(undefined).then((s) => s && onForgotten(s))}
        >
          Forget all paired devices
        </button>
      )}
      {forget.error && <ErrorBox error={forget.error} />}
    </div>
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
  // Tor's progress moves while it connects: ask again every few seconds until it settles.
  const torConnecting = s?.tor?.state === 'connecting'
  const refresh = status.refresh
  useEffect(() => {
    if (!torConnecting) return
    const t = setInterval(refresh, TOR_POLL_MS)
    return () => clearInterval(t)
  }, [torConnecting, refresh])
  // The engine's server for the front door lost or got its port: show it without a reload.
  useEvent('reach', (e) => {
    if (e.type === 'engine-server') refresh()
  })
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
          {s.published?.nip05Domain && (
            <p>
              Nostr addresses (NIP-05) and the Lightning address end in{' '}
              <code>@{s.published.nip05Domain}</code>.
            </p>
          )}
          {s.published?.namesProblem && (
            <div className="notice tone-warn" role="status" aria-label="No Nostr addresses here">
              <p className="notice-message">{s.published.namesProblem.message}</p>
              <p className="notice-hint">
                <HintText text={s.published.namesProblem.hint} />
              </p>
            </div>
          )}
          {s.frontDoorProblem && (
            <ErrorBox error={s.frontDoorProblem} title="The front door is not running." />
          )}
          {s.engineServerProblem && (
            <ErrorBox
              error={s.engineServerProblem}
              title="The front door cannot reach Flash Box."
            />
          )}
          <ReachForm status={s} onSaved={(n) => status.setData(n)} />
          {s.lan && (
            <LanPanel
              lan={s.lan}
              {...(s.pairingCode ? { pending: s.pairingCode } : {})}
              onForgotten={(n) => status.setData(n)}
            />
          )}
          {s.published?.source === 'public' && (
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
          {(s.onions.length > 0 || s.tor) && (
            <>
              <h3>Onion addresses</h3>
              {s.tor && <TorProgress tor={s.tor} />}
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
                <PairingCard key={t.id} t={zeus} tor={s.tor} />
              ) : (
                <PairingCard key={t.id} t={t} tor={s.tor} />
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
