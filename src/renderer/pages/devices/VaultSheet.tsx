// The vault's recovery sheet: descriptor, keys, first addresses, the exports devices and other
// wallets take, and the first address checked on a hardware wallet's screen.
import { useState } from 'react'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import type { DeviceView, VaultView } from '../../../shared/api/hardware'

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

export function VaultSheet({ view, devices }: { view: VaultView; devices: readonly DeviceView[] }) {
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
