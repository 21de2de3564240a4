// The recovery words, shown only after the user confirms they understand what they are; and
// restoring a wallet from words written down earlier.
import { useState } from 'react'
import type { RestoreResult } from '../../../shared/api/ecash'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats, shortUrl } from './sats'
import { TextAreaField, TextField } from '../../shell/TextField'

export function BackupPanel({ backedUp }: { backedUp: boolean }) {
  const [understood, setUnderstood] = useState(false)
  const [words, setWords] = useState<readonly string[]>()
  const [password, setPassword] = useState('')
  const reveal = useMutation(() =>
    api.ecash.backupSeed(password ? { confirm: true, password } : { confirm: true }),
  )
  return (
    <div>
      <section aria-labelledby="ecash-backup">
        <h2 id="ecash-backup">Recovery words</h2>
        <p>
          These 12 words can rebuild this wallet’s ecash on another Flash Box.{' '}
          {backedUp ? 'You have seen them before.' : 'You have not written them down yet.'}
        </p>
        <div className="notice tone-warn">
          <p className="notice-message">
            Anyone who sees these words can take the money. Write them on paper, keep it somewhere
            safe, never type them into a website or share a photo of them.
          </p>
        </div>
        {!words && (
          <>
            <label className="field checkbox">
              <input
                type="checkbox"
                checked={understood}
                onChange={(e) => setUnderstood(e.target.checked)}
              />
              <span>I understand; nobody else is looking at this screen.</span>
            </label>
            <TextField
              id="ecash-words-password"
              label="Owner password (once you have set one)"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <button
              type="button"
              className="primary"
              disabled={!understood || reveal.pending}
              onClick={async () => {
                const r = await reveal.run(undefined)
                setPassword('')
                if (r) setWords(r.words)
              }}
            >
              Show the recovery words
            </button>
          </>
        )}
        {reveal.error && <ErrorBox error={reveal.error} />}
        {words && (
          <>
            <ol aria-label="Recovery words" style={{ columns: 3, fontSize: '1.1rem' }}>
              {words.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ol>
            <button
              type="button"
              onClick={() => {
                setWords(undefined)
                setUnderstood(false)
              }}
            >
              Hide them
            </button>
          </>
        )}
      </section>
      <RestoreForm />
    </div>
  )
}

function RestoreForm() {
  const [mnemonic, setMnemonic] = useState('')
  const [mintUrl, setMintUrl] = useState('')
  const [result, setResult] = useState<RestoreResult>()
  const restore = useMutation((input: { mnemonic: string; mintUrls?: string[] }) =>
    api.ecash.restore(input),
  )
  return (
    <section aria-labelledby="ecash-restore">
      <h2 id="ecash-restore">Restore from recovery words</h2>
      <p className="muted">
        Only on an empty wallet: the wallet asks each mint for the ecash these words made (this can
        take a minute).
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setResult(undefined)
          const r = await restore.run({
            mnemonic,
            ...(mintUrl.trim() ? { mintUrls: [mintUrl.trim()] } : {}),
          })
          if (r) {
            setResult(r)
            setMnemonic('')
          }
        }}
      >
        <TextAreaField
          id="ecash-restore-words"
          label="The 12 (or 24) words, in order"
          rows={3}
          spellCheck={false}
          autoComplete="off"
          value={mnemonic}
          onChange={(e) => setMnemonic(e.target.value)}
        />
        <TextField
          id="ecash-restore-mint"
          label="Another mint the wallet used (optional)"
          value={mintUrl}
          placeholder="https://mint.example.com"
          onChange={(e) => setMintUrl(e.target.value)}
        />
        <button type="submit" disabled={!mnemonic.trim() || restore.pending}>
          {restore.pending ? 'Restoring…' : 'Restore'}
        </button>
      </form>
      {restore.error && <ErrorBox error={restore.error} />}
      {result && (
        <div role="status" className="notice tone-ok">
          <p className="notice-message">Restored {sats(result.restored)}.</p>
          <ul>
            {result.mints.map((m) => (
              <li key={m.mintUrl}>
                {shortUrl(m.mintUrl)}: {m.error ? m.error : sats(m.amount)}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  )
}
