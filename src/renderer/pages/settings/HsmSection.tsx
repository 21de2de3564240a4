// Settings → HSM: the PKCS#11 module, the token (slot) and the PIN of the HSM that holds one key
// of the vault (and can lock the box key, Settings → Backup). The PIN is sent once and never shown
// again. Devices shows the HSM's state and links here.
import { useState } from 'react'
import { api } from '../../api/client'
import { useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox } from '../../shell/common'
import type { HsmStatus, HsmToken } from '../../../shared/api/hardware'
import type { ApiError } from '../../api/transport'
import { sectionHeadingId } from './sections'

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so'

export function HsmSection() {
  const hsm = useQuery(() => api.hardware.hsmStatus({}), [])
  return (
    <section aria-labelledby={sectionHeadingId('hsm')} className="settings-section">
      <h2 id={sectionHeadingId('hsm')}>HSM</h2>
      <HsmSettings status={hsm.data} error={hsm.error} onChange={(s) => hsm.setData(s)} />
    </section>
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

function HsmSettings({
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
    <>
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
    </>
  )
}
