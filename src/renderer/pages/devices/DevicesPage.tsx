// Devices: signing devices on USB (found, and what stands between each one and signing), the HSM
// that holds the vault's cosigner key, a 2-of-3 vault wizard, and Coldcard signing by microSD.
// Everything goes through `api.hardware.…`; the HSM PIN is sent once and never shown again.
import { useState } from 'react'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import type {
  Cosigner,
  DeviceView,
  HsmStatus,
  HsmToken,
  VaultView,
} from '../../../shared/api/hardware'
import type { ApiError } from '../../api/transport'
import type { PageProps } from '../types'
import { VaultSpend } from './VaultSpend'

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so'

export default function DevicesPage(_props: PageProps) {
  const devices = useQuery(() => api.hardware.devices({}), [])
  const hsm = useQuery(() => api.hardware.hsmStatus({}), [])
  const [deviceKey, setDeviceKey] = useState('')
  const [vault, setVault] = useState<VaultView | undefined>(undefined)
  const [pairing, setPairing] = useState<string | undefined>(undefined)
  useEvent('hardware', (e) => {
    if (e.type === 'devices') devices.setData(e.overview)
    if (e.type === 'pairing') setPairing(e.code)
  })
  const signing = (devices.data?.devices ?? []).filter((d) => d.canSign)
  return (
    <div className="page">
      <h1>Devices</h1>
      <p className="muted">
        Hardware wallets on this computer’s USB, the HSM that keeps one key of your vault, and the
        vault itself: coins that need two of three keys to move, so no single stolen laptop, device
        or person can spend them.
      </p>
      <section className="card" aria-labelledby="devices-usb">
        <h2 id="devices-usb">USB devices</h2>
        {devices.error && <ErrorBox error={devices.error} />}
        {!devices.data && !devices.error && <Spinner label="Looking for devices…" />}
        {devices.data && (
          <>
            {devices.data.note && <p>{devices.data.note}</p>}
            {devices.data.usbAvailable && devices.data.devices.length === 0 && (
              <p>No signing device is plugged in.</p>
            )}
            {devices.data.devices.length > 0 && (
              <ul className="plain" aria-label="Devices found">
                {devices.data.devices.map((d) => (
                  <DeviceRow key={d.id} device={d} onKey={setDeviceKey} />
                ))}
              </ul>
            )}
            {pairing && (
              <p role="status">
                Pairing code: <code>{pairing}</code>. Check that the BitBox02 shows the same code,
                then confirm on the BitBox02.
              </p>
            )}
            <button onClick={() => devices.refresh()}>Look again</button>
            {devices.data.udevCommand && (
              <details open={devices.data.devices.some((d) => d.state === 'permission')}>
                <summary>Linux: allow Flash Box to open signing devices</summary>
                <p>Run this once in a terminal, then unplug the device and plug it in again:</p>
                <pre aria-label="udev command">
                  <code>{devices.data.udevCommand}</code>
                </pre>
              </details>
            )}
          </>
        )}
      </section>
      <HsmSection status={hsm.data} error={hsm.error} onChange={(s) => hsm.setData(s)} />
      <VaultWizard
        hsm={hsm.data}
        deviceKey={deviceKey}
        onDeviceKey={setDeviceKey}
        onVault={setVault}
        devices={signing}
      />
      {vault && <VaultSpend vault={vault} hsm={hsm.data} devices={signing} />}
      {!vault && <CardSigning />}
    </div>
  )
}

const STATE_LABEL: Record<DeviceView['state'], [string, 'ok' | 'warn' | 'bad']> = {
  ready: ['Ready', 'ok'],
  permission: ['Needs permission', 'bad'],
  busy: ['Busy', 'warn'],
  locked: ['Locked', 'warn'],
  'wrong-app': ['Wrong app', 'warn'],
  'needs-bridge': ['Needs a helper program', 'warn'],
  'update-needed': ['Firmware too old', 'bad'],
  unsupported: ['Found', 'warn'],
}

/** "[d34db33f/48h/1h/0h/2h]tpub…", the form the vault wizard takes. */
export function keyExpression(c: Cosigner): string {
  return c.kind === 'xpub'
    ? `[${c.fingerprint}${c.path.slice(1)}]${c.xpub}`
    : `[${c.fingerprint}]${c.publicKey}`
}

function DeviceRow({ device: d, onKey }: { device: DeviceView; onKey: (key: string) => void }) {
  const [label, tone] = STATE_LABEL[d.state]
  const key = useMutation(() => api.hardware.deviceCosigner({ deviceId: d.id }))
  return (
    <li aria-label={d.modelName}>
      <strong>{d.modelName}</strong> <Badge tone={tone}>{label}</Badge>
      {d.firmware && <span className="muted"> firmware {d.firmware}</span>}
      <div>{d.stateText}</div>
      <div className="muted">{d.support}</div>
      {d.canSign && (
        <button
          disabled={key.pending}
          onClick={() => void key.run(undefined).then((c) => c && onKey(keyExpression(c)))}
        >
          {key.pending ? 'Confirm on the device…' : 'Use as the vault’s hardware-wallet key'}
        </button>
      )}
      {key.error && <ErrorBox error={key.error} />}
    </li>
  )
}

const PIN_STATE: Record<NonNullable<HsmStatus['pinState']>, string> = {
  ok: '',
  'count-low': 'The HSM has counted wrong PINs; a few more will lock it.',
  'final-try': 'One more wrong PIN will lock the HSM.',
  locked:
    'The HSM has locked its PIN. Unlock it with the maker’s tool and its security-officer PIN.',
  'not-initialised': 'This token has no user PIN yet. Set one with the maker’s tool first.',
}

function HsmSection({
  status,
  error,
  onChange,
}: {
  status: HsmStatus | undefined
  error: ApiError | undefined
  onChange: (s: HsmStatus) => void
}) {
  const [modulePath, setModulePath] = useState(SOFTHSM)
  const [tokens, setTokens] = useState<readonly HsmToken[] | undefined>(undefined)
  const [tokenSerial, setTokenSerial] = useState('')
  const [keyLabel, setKeyLabel] = useState('flash-box-vault')
  const [pin, setPin] = useState('')
  const [remember, setRemember] = useState(false)
  const find = useMutation((path: string) => api.hardware.hsmTokens({ modulePath: path }))
  const setup = useMutation(() =>
    api.hardware.hsmSetup({ modulePath, tokenSerial, keyLabel, pin, rememberPin: remember }),
  )
  const unlock = useMutation(() => api.hardware.hsmUnlock({ pin }))
  const lock = useMutation(() => api.hardware.hsmLock({}))
  const forget = useMutation(() => api.hardware.hsmForget({}))
  const done = (s: HsmStatus | undefined) => {
    setPin('')
    if (s) onChange(s)
    // A refused PIN changes the count of wrong PINs and the token's PIN state: read them again.
    else void api.hardware.hsmStatus({}).then(onChange, () => undefined)
  }
  const pinWarning = status?.pinState ? PIN_STATE[status.pinState] : ''
  return (
    <section className="card" aria-labelledby="devices-hsm">
      <h2 id="devices-hsm">HSM</h2>
      <p className="muted">
        An HSM (a hardware security module, or SoftHSM2 for testing) makes a Bitcoin key inside
        itself and never lets it out; it only signs. It has no BIP32 tree, so it is one fixed key:
        every vault address contains it. Addresses still differ (the vault’s other keys change with
        each one), but once coins are spent, anyone can see those spends share the HSM key.
      </p>
      {error && <ErrorBox error={error} />}
      {status?.configured ? (
        <>
          <dl className="facts">
            <dt>State</dt>
            <dd>
              <Badge tone={status.unlocked ? 'ok' : 'warn'}>
                {status.unlocked ? 'Unlocked' : 'Locked'}
              </Badge>
              {status.pinRemembered && <span className="muted"> — PIN kept on this computer</span>}
            </dd>
            <dt>Module</dt>
            <dd>
              <code>{status.modulePath}</code>
            </dd>
            <dt>Token</dt>
            <dd>{status.tokenSerial}</dd>
            <dt>Key</dt>
            <dd>
              {status.key ? (
                <>
                  fingerprint <code>{status.key.fingerprint}</code>, public key{' '}
                  <code>{status.key.publicKey}</code>
                </>
              ) : (
                'Unlock to read it'
              )}
            </dd>
            {status.wrongPins > 0 && (
              <>
                <dt>Wrong PINs</dt>
                <dd>{status.wrongPins} in a row</dd>
              </>
            )}
          </dl>
          {pinWarning && <p role="alert">{pinWarning}</p>}
          {status.unlocked ? (
            <button onClick={() => void lock.run(undefined).then(done)} disabled={lock.pending}>
              Lock
            </button>
          ) : (
            <form
              onSubmit={(e) => {
                e.preventDefault()
                void unlock.run(undefined).then(done)
              }}
            >
              <label>
                PIN{' '}
                <input
                  type="password"
                  autoComplete="off"
                  value={pin}
                  onChange={(e) => setPin(e.target.value)}
                />
              </label>{' '}
              <button type="submit" disabled={pin.length < 4 || unlock.pending}>
                Unlock
              </button>
            </form>
          )}{' '}
          <button onClick={() => void forget.run(undefined).then(done)} disabled={forget.pending}>
            Forget this HSM
          </button>
          {unlock.error && <ErrorBox error={unlock.error} />}
          {lock.error && <ErrorBox error={lock.error} />}
          {forget.error && <ErrorBox error={forget.error} />}
        </>
      ) : (
        <form
          aria-label="Set up the HSM"
          onSubmit={(e) => {
            e.preventDefault()
            void setup.run(undefined).then(done)
          }}
        >
          <label>
            Module (PKCS#11 library){' '}
            <input value={modulePath} onChange={(e) => setModulePath(e.target.value)} size={40} />
          </label>{' '}
          <button
            type="button"
            onClick={() =>
              void find.run(modulePath).then((t) => {
                setTokens(t)
                if (t?.[0]) setTokenSerial(t[0].serial)
              })
            }
            disabled={find.pending}
          >
            Find tokens
          </button>
          {find.error && <ErrorBox error={find.error} />}
          {tokens && tokens.length === 0 && <p>No token is present behind this module.</p>}
          {tokens && tokens.length > 0 && (
            <>
              <div>
                <label>
                  Token{' '}
                  <select value={tokenSerial} onChange={(e) => setTokenSerial(e.target.value)}>
                    {tokens.map((t) => (
                      <option key={t.serial} value={t.serial}>
                        {t.label} — {t.model} (serial {t.serial}, slot {t.slotId})
                      </option>
                    ))}
                  </select>
                </label>
              </div>
              <div>
                <label>
                  Key name <input value={keyLabel} onChange={(e) => setKeyLabel(e.target.value)} />
                </label>
              </div>
              <div>
                <label>
                  PIN{' '}
                  <input
                    type="password"
                    autoComplete="off"
                    value={pin}
                    onChange={(e) => setPin(e.target.value)}
                  />
                </label>
              </div>
              <div>
                <label>
                  <input
                    type="checkbox"
                    checked={remember}
                    onChange={(e) => setRemember(e.target.checked)}
                  />{' '}
                  Keep the PIN on this computer (a file only Flash Box’s user can read) so the HSM
                  unlocks when the box starts
                </label>
              </div>
              <button type="submit" disabled={!tokenSerial || pin.length < 4 || setup.pending}>
                Set up: use this key, or make it inside the HSM
              </button>
            </>
          )}
          {setup.error && <ErrorBox error={setup.error} />}
        </form>
      )}
    </section>
  )
}

/** "[d34db33f/48h/1h/0h/2h]tpub…" → an extended-key cosigner; undefined if it does not parse. */
export function parseKeyExpression(name: string, text: string): Cosigner | undefined {
  const m = /^\s*\[([0-9a-fA-F]{8})((?:\/\d+['h]?)*)\]([xt]pub[1-9A-HJ-NP-Za-km-z]+)\s*$/.exec(text)
  if (!m) return undefined
  return {
    kind: 'xpub',
    name,
    fingerprint: m[1]!.toLowerCase(),
    path: `m${m[2]!}`,
    xpub: m[3]!,
  }
}

function VaultWizard({
  hsm,
  deviceKey: first,
  onDeviceKey: setFirst,
  onVault,
  devices,
}: {
  hsm: HsmStatus | undefined
  deviceKey: string
  onDeviceKey: (key: string) => void
  onVault: (v: VaultView) => void
  devices: readonly DeviceView[]
}) {
  const [name, setName] = useState('savings')
  const [second, setSecond] = useState('')
  const [view, setViewState] = useState<VaultView | undefined>(undefined)
  const setView = (v: VaultView) => {
    setViewState(v)
    onVault(v)
  }
  const preview = useMutation((cosigners: Cosigner[]) =>
    api.hardware.vaultPreview({ name, threshold: 2, cosigners }),
  )
  const device = parseKeyExpression('Hardware wallet', first)
  const backup = parseKeyExpression('Backup key', second)
  const hsmKey: Cosigner | undefined = hsm?.key
    ? { kind: 'fixed', name: 'HSM', fingerprint: hsm.key.fingerprint, publicKey: hsm.key.publicKey }
    : undefined
  const cosigners = [hsmKey, device, backup].filter((c): c is Cosigner => !!c)
  return (
    <section className="card" aria-labelledby="devices-vault">
      <h2 id="devices-vault">2-of-3 vault</h2>
      <p className="muted">
        Three keys, any two of which can spend: the HSM, a hardware wallet, and a backup key kept
        offline. Paste each extended key as its device exports it for multisig, with its origin,
        like <code>[d34db33f/48h/0h/0h/2h]xpub…</code>.
      </p>
      <div>
        1. HSM:{' '}
        {hsmKey ? (
          <code>{hsmKey.fingerprint}</code>
        ) : (
          <span>set up and unlock the HSM above first</span>
        )}
      </div>
      <label>
        2. Hardware wallet key{' '}
        <input value={first} onChange={(e) => setFirst(e.target.value)} size={60} />
      </label>
      {first && !device && (
        <p role="alert">This is not a key with its origin ([fingerprint/path]xpub).</p>
      )}
      <div>
        <label>
          3. Backup key{' '}
          <input value={second} onChange={(e) => setSecond(e.target.value)} size={60} />
        </label>
      </div>
      {second && !backup && (
        <p role="alert">This is not a key with its origin ([fingerprint/path]xpub).</p>
      )}
      <div>
        <label>
          Vault name <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>{' '}
        <button
          disabled={cosigners.length !== 3 || preview.pending}
          onClick={() => void preview.run(cosigners).then((v) => v && setView(v))}
        >
          Show the vault
        </button>
      </div>
      {preview.error && <ErrorBox error={preview.error} />}
      {view && <VaultSheet view={view} devices={devices} />}
    </section>
  )
}

function AddressCheck({ view, devices }: { view: VaultView; devices: readonly DeviceView[] }) {
  const [deviceId, setDeviceId] = useState('')
  const [shown, setShown] = useState<string | undefined>(undefined)
  const check = useMutation((id: string) =>
    api.hardware.deviceShowAddress({
      deviceId: id,
      vault: { name: view.name, threshold: view.threshold, cosigners: [...view.cosigners] },
      chain: 0,
      index: 0,
    }),
  )
  const chosen = deviceId || devices[0]?.id || ''
  if (devices.length === 0)
    return (
      <p className="muted">
        Plug in the vault’s hardware wallet to check the first address on its screen.
      </p>
    )
  return (
    <div>
      <label>
        Device{' '}
        <select value={chosen} onChange={(e) => setDeviceId(e.target.value)}>
          {devices.map((d) => (
            <option key={d.id} value={d.id}>
              {d.modelName}
            </option>
          ))}
        </select>
      </label>{' '}
      <button
        disabled={!chosen || check.pending}
        onClick={() => void check.run(chosen).then((r) => r && setShown(r.address))}
      >
        {check.pending ? 'Look at the device…' : 'Show the first address on the device'}
      </button>
      {check.error && <ErrorBox error={check.error} />}
      {shown && (
        <p role="status">
          The device derived <code>{shown}</code>, the same as the vault’s first address. Check that
          its screen shows it too, character by character.
        </p>
      )}
    </div>
  )
}

function VaultSheet({ view, devices }: { view: VaultView; devices: readonly DeviceView[] }) {
  return (
    <div aria-label="Vault recovery sheet">
      <h3>
        {view.name}: {view.threshold} of {view.cosigners.length} ({view.network})
      </h3>
      <p>
        Check the first address on the hardware wallet’s screen before sending coins to it. Print
        this sheet and keep it with the backup key: without the descriptor, the keys alone cannot
        find the coins.
      </p>
      <dl className="facts">
        <dt>Descriptor (receive and change)</dt>
        <dd>
          <code aria-label="Descriptor">{view.descriptor}</code>
        </dd>
        <dt>Keys</dt>
        <dd>
          <ul className="plain">
            {view.cosigners.map((c) => (
              <li key={c.fingerprint}>
                {c.name}: <code>{c.fingerprint}</code>
                {c.kind === 'xpub' ? ` at ${c.path}` : ' (fixed HSM key)'}
              </li>
            ))}
          </ul>
        </dd>
        <dt>First receive addresses</dt>
        <dd>
          <ol start={0}>
            {view.firstAddresses.map((a) => (
              <li key={a}>
                <code>{a}</code>
              </li>
            ))}
          </ol>
        </dd>
      </dl>
      {view.exportLimits.map((l) => (
        <p key={l} className="muted">
          {l}
        </p>
      ))}
      {view.walletPolicy && (
        <details>
          <summary>BIP388 wallet policy (Ledger and others register it)</summary>
          <pre>{[view.walletPolicy.template, ...view.walletPolicy.keys].join('\n')}</pre>
        </details>
      )}
      {view.bsms && (
        <details>
          <summary>BSMS record (BIP129)</summary>
          <pre>{view.bsms}</pre>
        </details>
      )}
      {view.coldcardFile && (
        <details>
          <summary>Coldcard multisig setup file</summary>
          <pre>{view.coldcardFile}</pre>
        </details>
      )}
      <AddressCheck view={view} devices={devices} />
      <button onClick={() => window.print()}>Print the recovery sheet</button>
    </div>
  )
}

function CardSigning() {
  const [folder, setFolder] = useState('')
  const [psbt, setPsbt] = useState('')
  const [written, setWritten] = useState<string | undefined>(undefined)
  const write = useMutation(() =>
    api.hardware.cardWritePsbt({ folder, name: 'flashbox', psbt: psbt.trim() }),
  )
  return (
    <section className="card" aria-labelledby="devices-card">
      <h2 id="devices-card">Coldcard by microSD card</h2>
      <p className="muted">
        No USB needed: Flash Box writes the PSBT to the card, you sign it on the Coldcard, and the
        Coldcard writes the signed file next to it (flashbox-part.psbt). To spend a vault, show the
        vault above: its spend section writes the PSBT and loads the signed file back.
      </p>
      <label>
        Card folder <input value={folder} onChange={(e) => setFolder(e.target.value)} size={40} />
      </label>
      <div>
        <label>
          PSBT (base64)
          <textarea value={psbt} onChange={(e) => setPsbt(e.target.value)} rows={3} cols={60} />
        </label>
      </div>
      <button
        disabled={!folder || !psbt.trim().startsWith('cHNidP8') || write.pending}
        onClick={() => void write.run(undefined).then((r) => r && setWritten(r.path))}
      >
        Write to the card
      </button>
      {write.error && <ErrorBox error={write.error} />}
      {written && (
        <p role="status">
          Written to <code>{written}</code>. Sign it on the Coldcard.
        </p>
      )}
    </section>
  )
}
