// Settings → Backup: the owner password that keeps the box's secrets encrypted (set, unlock after
// a restart, change, and the OS keychain with its trade-off), whole-box backups (folder or
// removable drive, daily schedule, retention, test-restore check, progress) and restoring one.
import { useState } from 'react'
import type { BackupProgress, BackupStatus, RestorePrepared } from '../../../shared/api/backup'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { formatBytes } from '../../format'
import { ErrorBox, Spinner } from '../../shell/common'
import { sectionHeadingId } from './sections'
import { SelectField, TextField } from '../../shell/TextField'

function PasswordField(props: {
  id: string
  label: string
  value: string
  onChange: (v: string) => void
  autoComplete: 'current-password' | 'new-password'
}) {
  return (
    <TextField
      id={props.id}
      label={<>{props.label}</>}
      type="password"
      value={props.value}
      autoComplete={props.autoComplete}
      onChange={(e) => props.onChange(e.target.value)}
    />
  )
}

function BoxKeyPart({ s, onStatus }: { s: BackupStatus; onStatus: (s: BackupStatus) => void }) {
  const [pw, setPw] = useState('')
  const [newPw, setNewPw] = useState('')
  const [kcPw, setKcPw] = useState('')
  const setPassword = useMutation((password: string) => api.backup.setPassword({ password }))
  const [unlockPin, setUnlockPin] = useState('')
  const unlock = useMutation((password: string) =>
    api.backup.unlock({ password, ...(unlockPin ? { pin: unlockPin } : {}) }),
  )
  const change = useMutation((i: { oldPassword: string; newPassword: string }) =>
    api.backup.changePassword(i),
  )
  const keychain = useMutation((i: { enabled: boolean; password: string }) =>
    api.backup.setKeychain(i),
  )
  const done = (r: BackupStatus | undefined) => {
    if (!r) return
    setPw('')
    setNewPw('')
    setKcPw('')
    setUnlockPin('')
    onStatus(r)
  }

  return (
    <>
      <h3>Secrets at rest</h3>
      {s.box === 'none' && (
        <>
          <p className="notice tone-warn">
            The box has no owner password yet, so its secrets (eCash recovery words, the mint’s
            seed) are stored without encryption. Choose a password: the box then makes one key that
            encrypts every secret it keeps.
          </p>
          <form
            onSubmit={(e) => {
              e.preventDefault()
              void setPassword.run(pw).then(done)
            }}
          >
            <PasswordField
              id="box-new-password"
              label="Owner password"
              value={pw}
              onChange={setPw}
              autoComplete="new-password"
            />
            <button type="submit" disabled={setPassword.pending || pw.length < 10}>
              Set password
            </button>
          </form>
          {setPassword.error && <ErrorBox error={setPassword.error} />}
        </>
      )}
      {s.box === 'locked' && (
        <>
          <p className="notice tone-warn" role="status">
            The box is locked: after a restart its secrets stay encrypted until the owner password
            is entered. Until then the mint and the eCash wallet wait.
          </p>
          <form
            onSubmit={(e) => {
              e.preventDefault()
              void unlock.run(pw).then(done)
            }}
          >
            <PasswordField
              id="box-unlock-password"
              label="Owner password"
              value={pw}
              onChange={setPw}
              autoComplete="current-password"
            />
            {s.hsmWrap?.enabled && (
              <PasswordField
                id="box-unlock-hsm-pin"
                label="HSM PIN (leave empty if the box remembers it)"
                value={unlockPin}
                onChange={setUnlockPin}
                autoComplete="current-password"
              />
            )}
            <button type="submit" disabled={unlock.pending || !pw}>
              Unlock
            </button>
          </form>
          {unlock.error && <ErrorBox error={unlock.error} />}
        </>
      )}
      {s.box !== 'none' && (
        <>
          {s.box === 'unlocked' && (
            <p>
              Unlocked. The eCash recovery words and the mint’s seed are encrypted with the box key,
              which is itself encrypted with your password.
            </p>
          )}
          <form
            aria-label="Change password"
            onSubmit={(e) => {
              e.preventDefault()
              void change.run({ oldPassword: pw, newPassword: newPw }).then(done)
            }}
          >
            <h4>Change password</h4>
            <PasswordField
              id="box-old-password"
              label="Current password"
              value={pw}
              onChange={setPw}
              autoComplete="current-password"
            />
            <PasswordField
              id="box-changed-password"
              label="New password"
              value={newPw}
              onChange={setNewPw}
              autoComplete="new-password"
            />
            <button type="submit" disabled={change.pending || !pw || newPw.length < 10}>
              Change password
            </button>
            <p className="muted">
              Only the box key is encrypted again; your data is not touched. Backups made before
              keep opening with the password the box had when they were made.
            </p>
          </form>
          {change.error && <ErrorBox error={change.error} />}
          <h4>Start without a password after a restart</h4>
          {s.keychain.available ? (
            <form
              onSubmit={(e) => {
                e.preventDefault()
                void keychain.run({ enabled: !s.keychain.enabled, password: kcPw }).then(done)
              }}
            >
              <p>
                {s.keychain.enabled
                  ? 'The box key is kept in this computer’s keychain: the box unlocks itself after a restart.'
                  : 'Keep the box key in this computer’s keychain so the mint and wallet start by themselves after a restart.'}{' '}
                The trade-off: anyone who can log in to this computer’s user account can then start
                the box and use its money without your password. Without it, the box waits for your
                password after every restart.
              </p>
              <PasswordField
                id="box-keychain-password"
                label="Owner password"
                value={kcPw}
                onChange={setKcPw}
                autoComplete="current-password"
              />
              <button type="submit" disabled={keychain.pending || !kcPw}>
                {s.keychain.enabled ? 'Stop using the keychain' : 'Use the keychain'}
              </button>
            </form>
          ) : (
            <p className="muted">
              Not available here: this Flash Box runs without a desktop keychain (for example
              headless on a server). After every restart, log in or unlock here; until then the mint
              and the eCash wallet wait.
            </p>
          )}
          {keychain.error && <ErrorBox error={keychain.error} />}
          {s.hsmWrap && <HsmWrapPart s={s} onStatus={done} />}
        </>
      )}
    </>
  )
}

/** The box key wrapped by the HSM of Settings → HSM, with its trade-off. */
function HsmWrapPart({ s, onStatus }: { s: BackupStatus; onStatus: (s: BackupStatus) => void }) {
  const [pw, setPw] = useState('')
  const [pin, setPin] = useState('')
  const wrap = useMutation((i: { enabled: boolean; password: string; pin?: string }) =>
    api.backup.setHsmWrap(i),
  )
  const h = s.hsmWrap!
  return (
    <>
      <h4>Lock the box key with the HSM</h4>
      {!h.configured && !h.enabled ? (
        <p className="muted">
          No HSM is set up on this box. Set one up in Settings → HSM to use it here.
        </p>
      ) : (
        <form
          aria-label="HSM lock"
          onSubmit={(e) => {
            e.preventDefault()
            void wrap
              .run({ enabled: !h.enabled, password: pw, ...(pin ? { pin } : {}) })
              .then((r) => {
                if (!r) return
                setPw('')
                setPin('')
                onStatus(r)
              })
          }}
        >
          <p>
            {h.enabled
              ? `The box key is locked with the HSM (serial ${h.tokenSerial ?? '?'}): the box opens only with your password and this HSM plugged in.`
              : 'Lock the box key with the HSM set up in Settings → HSM: the box then opens only with your password and this HSM plugged in.'}{' '}
            The trade-off: lose the HSM and the password alone cannot open the box — keep a backup
            (Back up now, below) and keep the HSM safe. It cannot be combined with the keychain.
            Turning it off needs the HSM plugged in once more.
          </p>
          <PasswordField
            id="box-hsm-password"
            label="Owner password"
            value={pw}
            onChange={setPw}
            autoComplete="current-password"
          />
          <PasswordField
            id="box-hsm-pin"
            label="HSM PIN (leave empty if the box remembers it)"
            value={pin}
            onChange={setPin}
            autoComplete="current-password"
          />
          <button type="submit" disabled={wrap.pending || !pw}>
            {h.enabled ? 'Stop locking with the HSM' : 'Lock with the HSM'}
          </button>
        </form>
      )}
      {wrap.error && <ErrorBox error={wrap.error} />}
    </>
  )
}

function progressText(p: BackupProgress): string {
  const what = {
    copying: 'Backing up',
    finishing: 'Finishing',
    checking: 'Checking the backup',
    restoring: 'Restoring',
  }[p.phase]
  return p.totalBytes > 0
    ? `${what}: ${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)}`
    : `${what}…`
}

function ArchivesPart({ s, onStatus }: { s: BackupStatus; onStatus: (s: BackupStatus) => void }) {
  const [target, setTarget] = useState(s.target ?? '')
  const [progress, setProgress] = useState<BackupProgress | undefined>(undefined)
  const targets = useQuery(() => api.backup.targets({}), [])
  const configure = useMutation(
    (i: { target?: string | null; schedule?: 'off' | 'daily'; keep?: number }) =>
      api.backup.configure(i),
  )
  const now = useMutation(() => api.backup.backupNow({}))
  const check = useMutation(() => api.backup.check({}))
  useEvent('backup', (e) => {
    if (e.type === 'progress') setProgress(e.progress)
    else {
      onStatus(e.status)
      if (!e.status.running) setProgress(undefined)
    }
  })
  const drives = (targets.data ?? []).filter((t) => t.removable)

  return (
    <>
      <h3>Whole-box backup</h3>
      <p>
        One encrypted file holds the settings, the stack’s secrets, the Lightning recovery words and
        static channel backup, the mint’s database and seed, the relay’s events, the eCash wallet,
        the Nostr key and messages, and BTCPay’s database (when it runs). It opens only with the
        owner password the box had when it was made.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void configure.run({ target: target.trim() || null }).then((r) => r && onStatus(r))
        }}
      >
        <TextField
          id="backup-target"
          label="Backup folder"
          value={target}
          spellCheck={false}
          placeholder="/media/you/BACKUP"
          onChange={(e) => setTarget(e.target.value)}
        />
        {drives.length > 0 && (
          <ul aria-label="Removable drives">
            {drives.map((d) => (
              <li key={d.path}>
                <button type="button" className="link" onClick={() => setTarget(d.path)}>
                  {d.label}
                </button>{' '}
                <code>{d.path}</code>
                {d.freeBytes !== undefined ? ` (${formatBytes(d.freeBytes)} free)` : ''}
              </li>
            ))}
          </ul>
        )}
        <button type="submit" disabled={configure.pending}>
          Save folder
        </button>
      </form>
      <SelectField
        id="backup-schedule"
        label="Automatic backup"
        value={s.schedule}
        onChange={(e) =>
          void configure
            .run({ schedule: e.target.value as 'off' | 'daily' })
            .then((r) => r && onStatus(r))
        }
      >
        <option value="daily">Every day</option>
        <option value="off">Off</option>
      </SelectField>
      <TextField
        id="backup-keep"
        label="Backups to keep"
        type="number"
        min={1}
        max={365}
        value={s.keep}
        onChange={(e) => {
          const keep = Number(e.target.value)
          if (keep >= 1 && keep <= 365) void configure.run({ keep }).then((r) => r && onStatus(r))
        }}
      />
      {configure.error && <ErrorBox error={configure.error} />}
      <p className="muted">
        Lightning’s static channel backup (encrypted) is also copied into this folder on every
        channel change, so a restore knows channels opened after the last daily backup.
        {s.channelBackupCopy &&
          ` Last copied ${new Date(s.channelBackupCopy.at).toLocaleString()}, ${s.channelBackupCopy.channels} channel${s.channelBackupCopy.channels === 1 ? '' : 's'}.`}
      </p>
      <button
        type="button"
        disabled={now.pending || s.running || !s.target || s.box !== 'unlocked'}
        onClick={() => void now.run(undefined)}
      >
        Back up now
      </button>{' '}
      <button
        type="button"
        disabled={check.pending || s.running || s.archives.length === 0 || s.box !== 'unlocked'}
        onClick={() => void check.run(undefined)}
      >
        Check the last backup
      </button>
      {progress && (
        <p role="status">
          <Spinner label={progressText(progress)} />
        </p>
      )}
      {now.error && <ErrorBox error={now.error} />}
      {check.error && <ErrorBox error={check.error} />}
      {s.lastProblem && !now.error && <ErrorBox error={s.lastProblem} title="Last backup" />}
      {s.lastBackup && (
        <p>
          Last backup: <code>{s.lastBackup.file}</code> ({formatBytes(s.lastBackup.bytes)},{' '}
          {new Date(s.lastBackup.createdAt).toLocaleString()}).
        </p>
      )}
      {s.lastCheck &&
        (s.lastCheck.ok ? (
          <p className="notice tone-ok" role="status">
            Checked {new Date(s.lastCheck.at).toLocaleString()}: the backup decrypts and all{' '}
            {s.lastCheck.files} files match.
          </p>
        ) : (
          s.lastCheck.problem && <ErrorBox error={s.lastCheck.problem} title="Backup check" />
        ))}
      {s.archives.length > 0 && (
        <ul aria-label="Backups in the folder">
          {s.archives.map((a) => (
            <li key={a.file}>
              <code>{a.file}</code> ({formatBytes(a.bytes)})
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

/** Restore from a backup: Settings → Backup, and the first step of a fresh install's setup. */
export function RestoreFromBackup({
  pending,
}: {
  pending?: BackupStatus['pendingRestore'] | undefined
}) {
  const [file, setFile] = useState('')
  const [pw, setPw] = useState('')
  const [done, setDone] = useState<RestorePrepared | undefined>(undefined)
  const restore = useMutation((i: { file: string; password: string }) => api.backup.restore(i))
  return (
    <>
      <h3>Restore</h3>
      <p>
        Pick a backup file and type the owner password the box had when it was made. The file is
        decrypted and checked first; nothing on this box changes unless every part of it is intact.
        The restore is completed when Flash Box starts next.
      </p>
      <p className="muted">
        Lightning comes back from its recovery words and the static channel backup, once you enter
        your password on the Lightning page. Your channels cannot be reopened from a backup: their
        peers close them, and the funds come back to the Lightning wallet on chain once the closing
        transactions confirm. LND’s live channel state is never in a backup, because an old copy can
        lose money.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          setDone(undefined)
          void restore.run({ file: file.trim(), password: pw }).then((r) => {
            if (!r) return
            setPw('')
            setDone(r)
          })
        }}
      >
        <TextField
          id="restore-file"
          label="Backup file"
          value={file}
          spellCheck={false}
          placeholder="/media/you/BACKUP/flashbox-….fbbackup"
          onChange={(e) => setFile(e.target.value)}
        />
        <PasswordField
          id="restore-password"
          label="Password of the backup"
          value={pw}
          onChange={setPw}
          autoComplete="current-password"
        />
        <button type="submit" disabled={restore.pending || !file.trim() || !pw}>
          Restore
        </button>
      </form>
      {restore.error && <ErrorBox error={restore.error} />}
      {(done || pending) && (
        <p className="notice tone-ok" role="status">
          The backup
          {done
            ? ` from ${new Date(done.createdAt).toLocaleString()} (${done.files} files)`
            : ''}{' '}
          is checked and ready. Quit and start Flash Box again to finish the restore; then log in
          with the backup’s password.
        </p>
      )}
    </>
  )
}

export function BackupSection() {
  const status = useQuery(() => api.backup.status({}), [])
  const id = sectionHeadingId('backup')
  const s = status.data
  return (
    <section aria-labelledby={id} className="settings-section">
      <h2 id={id}>Backup</h2>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <Spinner label="Reading the backup state…" />}
      {s && (
        <>
          <BoxKeyPart s={s} onStatus={(n) => status.setData(n)} />
          <ArchivesPart s={s} onStatus={(n) => status.setData(n)} />
          <RestoreFromBackup pending={s.pendingRestore} />
        </>
      )}
    </section>
  )
}
