// The wallet's life cycle as the owner sees it: the password the box needs once to keep the
// recovery words encrypted, a locked wallet explained and unlocked, and the recovery words shown
// once (password typed again) with a word check.
import { useState } from 'react'
import type { LightningStatus, SeedReveal } from '../../../shared/api/lightning'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { TextField } from '../../shell/TextField'

export function WalletSetup({
  status,
  onChange,
}: {
  status: LightningStatus
  onChange: (s: LightningStatus) => void
}) {
  if (status.wallet === 'waiting_for_owner')
    return <ProtectSeed onChange={onChange} restoring={!!status.restore?.needsPassword} />
  if (status.wallet === 'locked') return <Unlock onChange={onChange} />
  if (status.restore?.restoredAt) return <Restored restore={status.restore} />
  if (status.seed.stored && !status.seed.confirmed) return <SeedBackup onChange={onChange} />
  return null
}

/** After a restore: what happened to the channels, and where the money comes back. */
function Restored({ restore }: { restore: NonNullable<LightningStatus['restore']> }) {
  const n = restore.channels ?? 0
  return (
    <section className="card" aria-labelledby="ln-restored">
      <h2 id="ln-restored">Lightning wallet restored from your backup</h2>
      <p>
        Restored {new Date(restore.restoredAt!).toLocaleString()} from its recovery words
        {n > 0
          ? ` and the channel backup, which named ${n} channel${n === 1 ? '' : 's'}. Channels cannot be reopened from a backup: Flash Box asked each peer to close its channel, and the funds come back to this wallet on chain once the closing transactions confirm. Until then they cannot be used for payments; open new channels afterwards.`
          : '. The backup named no open channels, so only the on-chain funds come back (the wallet scans the chain for them).'}
      </p>
    </section>
  )
}

function ProtectSeed({
  onChange,
  restoring,
}: {
  onChange: (s: LightningStatus) => void
  restoring: boolean
}) {
  const [password, setPassword] = useState('')
  const protect = useMutation((pw: string) => api.lightning.protectSeed({ password: pw }))
  return (
    <section className="card" aria-labelledby="ln-protect">
      <h2 id="ln-protect">
        {restoring ? 'Restore your Lightning wallet' : 'Create your Lightning wallet'}
      </h2>
      {restoring ? (
        <p>
          This box was restored from a backup. Enter the owner password of the backup to open the
          Lightning recovery words and the static channel backup. The wallet comes back with the
          same words; its channels cannot be reopened — their peers close them, and the funds come
          back to this wallet on chain once the closing transactions confirm.
        </p>
      ) : (
        <p>
          Flash Box creates the wallet for you. Its 24 recovery words are kept encrypted with your
          password, so enter it once. (In the desktop app without a login password, choose one here:
          you will need it to see the words.)
        </p>
      )}
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const s = await protect.run(password)
          if (s) {
            setPassword('')
            onChange(s)
          }
        }}
      >
        <TextField
          id="ln-protect-password"
          label="Your password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="primary" disabled={!password || protect.pending}>
          {protect.pending
            ? restoring
              ? 'Restoring…'
              : 'Creating…'
            : restoring
              ? 'Restore the wallet'
              : 'Create the wallet'}
        </button>
      </form>
      {protect.error && <ErrorBox error={protect.error} />}
    </section>
  )
}

function Unlock({ onChange }: { onChange: (s: LightningStatus) => void }) {
  const unlock = useMutation(() => api.lightning.unlock({}))
  return (
    <section className="card" aria-labelledby="ln-locked">
      <h2 id="ln-locked">The wallet is locked</h2>
      <p>
        After a restart the Lightning node unlocks its wallet from a password file. That file is
        missing, so the node is waiting. Flash Box keeps the wallet password and can unlock it now;
        it also puts the file back so the next restart unlocks by itself.
      </p>
      <button
        type="button"
        className="primary"
        disabled={unlock.pending}
        onClick={async () => {
          const s = await unlock.run(undefined)
          if (s) onChange(s)
        }}
      >
        {unlock.pending ? 'Unlocking…' : 'Unlock'}
      </button>
      {unlock.error && <ErrorBox error={unlock.error} />}
    </section>
  )
}

function SeedBackup({ onChange }: { onChange: (s: LightningStatus) => void }) {
  const [password, setPassword] = useState('')
  const [shown, setShown] = useState<SeedReveal>()
  const [answers, setAnswers] = useState<Record<number, string>>({})
  const reveal = useMutation((pw: string) => api.lightning.revealSeed({ password: pw }))
  const confirm = useMutation((a: { position: number; word: string }[]) =>
    api.lightning.confirmSeed({ answers: a }),
  )
  const [checking, setChecking] = useState(false)

  if (!shown) {
    return (
      <section className="card" aria-labelledby="ln-seed">
        <h2 id="ln-seed">Write down your recovery words</h2>
        <p className="notice tone-warn">
          Your Lightning wallet has 24 recovery words. With them (and the channel backup) your funds
          can be recovered if this box breaks. Flash Box shows them once: have paper and pen ready,
          and make sure nobody can see your screen.
        </p>
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            const r = await reveal.run(password)
            setPassword('')
            if (r) setShown(r)
          }}
        >
          <TextField
            id="ln-seed-password"
            label="Type your password again"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" className="primary" disabled={!password || reveal.pending}>
            Show the recovery words
          </button>
        </form>
        {reveal.error && <ErrorBox error={reveal.error} />}
      </section>
    )
  }

  return (
    <section className="card" aria-labelledby="ln-seed-words">
      <h2 id="ln-seed-words">Your 24 recovery words</h2>
      {!checking ? (
        <>
          <ol className="seed-words" aria-label="Recovery words">
            {shown.words.map((w, i) => (
              <li key={i}>
                <code>{w}</code>
              </li>
            ))}
          </ol>
          <p className="muted">Write them on paper, in order. Never type them into a website.</p>
          <button type="button" className="primary" onClick={() => setChecking(true)}>
            I wrote them down
          </button>
        </>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            const s = await confirm.run(
              shown.check.map((position) => ({ position, word: answers[position] ?? '' })),
            )
            if (s) {
              setShown(undefined)
              onChange(s)
            }
          }}
        >
          <p>From your paper copy, type these words:</p>
          {shown.check.map((position) => (
            <TextField
              key={position}
              id={`ln-check-${position}`}
              label={`Word ${position}`}
              autoComplete="off"
              spellCheck={false}
              value={answers[position] ?? ''}
              onChange={(e) => setAnswers({ ...answers, [position]: e.target.value })}
            />
          ))}
          <button type="submit" className="primary" disabled={confirm.pending}>
            Check
          </button>{' '}
          <button type="button" onClick={() => setChecking(false)}>
            Show the words again
          </button>
          {confirm.error && <ErrorBox error={confirm.error} />}
        </form>
      )}
    </section>
  )
}
