// Devices: signing devices on USB (found, and what stands between each one and signing), the HSM's
// state (it is set up in Settings → HSM), a 2-of-3 vault wizard, the vault the box keeps and follows
// on chain (balance, coins, history, spends), and Coldcard signing by microSD. Everything goes
// through `api.hardware.…`.
import { useState } from 'react'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import type {
  Cosigner,
  DeviceView,
  HsmStatus,
  SavedVaultView,
  VaultView,
} from '../../../shared/api/hardware'
import type { PageProps } from '../types'
import { VaultOnChain } from './VaultOnChain'
import { VaultSheet } from './VaultSheet'
import { TextAreaField, TextField } from '../../shell/TextField'

export default function DevicesPage(_props: PageProps) {
  const devices = useQuery(() => api.hardware.devices({}), [])
  const hsm = useQuery(() => api.hardware.hsmStatus({}), [])
  const [deviceKey, setDeviceKey] = useState('')
  const vaults = useQuery(() => api.hardware.vaults({}), [])
  const [pairing, setPairing] = useState<string | undefined>(undefined)
  useEvent('hardware', (e) => {
    if (e.type === 'devices') devices.setData(e.overview)
    if (e.type === 'pairing') setPairing(e.code)
    if (e.type === 'vault') vaults.refresh()
  })
  const kept = vaults.data ?? []
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
      <HsmState status={hsm.data} />
      {vaults.error && <ErrorBox error={vaults.error} />}
      {kept.map((v) => (
        <VaultOnChain key={v.id} vault={v} hsm={hsm.data} devices={signing} />
      ))}
      <VaultWizard
        hsm={hsm.data}
        deviceKey={deviceKey}
        onDeviceKey={setDeviceKey}
        onSaved={(v) => vaults.setData((list) => [...(list ?? []).filter((x) => x.id !== v.id), v])}
        devices={signing}
        kept={kept.length > 0}
      />
      {kept.length === 0 && <CardSigning />}
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

function HsmState({ status }: { status: HsmStatus | undefined }) {
  return (
    <section className="card" aria-labelledby="devices-hsm">
      <h2 id="devices-hsm">HSM</h2>
      {status?.configured ? (
        <p>
          <Badge tone={status.unlocked ? 'ok' : 'warn'}>
            {status.unlocked ? 'Unlocked' : 'Locked'}
          </Badge>{' '}
          {status.key ? (
            <>
              key <code>{status.key.fingerprint}</code>
            </>
          ) : (
            'unlock it to read its key'
          )}
        </p>
      ) : (
        <p>No HSM is set up.</p>
      )}
      <p className="muted">
        The HSM keeps one key of the vault. Its module, token and PIN are chosen in{' '}
        <a href="#/settings/hsm">Settings → HSM</a>, where it is also unlocked and locked.
      </p>
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

const notAKey = 'This is not a key with its origin ([fingerprint/path]xpub).'

function VaultWizard({
  hsm,
  deviceKey: first,
  onDeviceKey: setFirst,
  onSaved,
  devices,
  kept,
}: {
  hsm: HsmStatus | undefined
  deviceKey: string
  onDeviceKey: (key: string) => void
  onSaved: (v: SavedVaultView) => void
  devices: readonly DeviceView[]
  kept: boolean
}) {
  const [name, setName] = useState('savings')
  const [second, setSecond] = useState('')
  const [view, setView] = useState<VaultView | undefined>(undefined)
  const preview = useMutation((cosigners: Cosigner[]) =>
    api.hardware.vaultPreview({ name, threshold: 2, cosigners }),
  )
  const save = useMutation((v: VaultView) =>
    api.hardware.vaultSave({ name: v.name, threshold: v.threshold, cosigners: [...v.cosigners] }),
  )
  const device = parseKeyExpression('Hardware wallet', first)
  const backup = parseKeyExpression('Backup key', second)
  const hsmKey: Cosigner | undefined = hsm?.key
    ? { kind: 'fixed', name: 'HSM', fingerprint: hsm.key.fingerprint, publicKey: hsm.key.publicKey }
    : undefined
  const cosigners = [hsmKey, device, backup].filter((c): c is Cosigner => !!c)
  return (
    <section className="card" aria-labelledby="devices-vault">
      <h2 id="devices-vault">{kept ? 'Another 2-of-3 vault' : '2-of-3 vault'}</h2>
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
          <span>
            set up and unlock the HSM in <a href="#/settings/hsm">Settings → HSM</a> first
          </span>
        )}
      </div>
      <TextField
        label="2. Hardware wallet key"
        error={first && !device && notAKey}
        value={first}
        onChange={(e) => setFirst(e.target.value)}
        size={60}
      />
      <TextField
        label="3. Backup key"
        error={second && !backup && notAKey}
        value={second}
        onChange={(e) => setSecond(e.target.value)}
        size={60}
      />
      <TextField label="Vault name" value={name} onChange={(e) => setName(e.target.value)} />
      <div>
        <button
          disabled={cosigners.length !== 3 || preview.pending}
          onClick={() => void preview.run(cosigners).then((v) => v && setView(v))}
        >
          Show the vault
        </button>
      </div>
      {preview.error && <ErrorBox error={preview.error} />}
      {view && <VaultSheet view={view} devices={devices} />}
      {view && (
        <div>
          <button
            disabled={save.pending}
            onClick={() => void save.run(view).then((v) => v && onSaved(v))}
          >
            Keep this vault and follow it on chain
          </button>
          <span className="muted">
            {' '}
            The box then watches the vault’s addresses through its Electrum server (watch-only: it
            holds none of the vault’s keys) and shows its coins here.
          </span>
          {save.error && <ErrorBox error={save.error} />}
        </div>
      )}
    </section>
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
        Coldcard writes the signed file next to it (flashbox-part.psbt). To spend a vault, keep the
        vault above: its spend section writes the PSBT and loads the signed file back.
      </p>
      <TextField
        label="Card folder"
        value={folder}
        onChange={(e) => setFolder(e.target.value)}
        size={40}
      />
      <TextAreaField
        label="PSBT (base64)"
        value={psbt}
        onChange={(e) => setPsbt(e.target.value)}
        rows={3}
        cols={60}
      />
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
