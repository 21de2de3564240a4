// Headless mode: the owner sets a password on first visit, then logs in with it.
import { useId, useState, type FormEvent } from 'react'
import { auth } from '../api/auth'
import { useMutation } from '../api/hooks'
import { ErrorBox } from '../shell/common'
import { TextField } from '../shell/TextField'

export const MIN_PASSWORD_LENGTH = 10

export function OwnerPasswordPage({
  setupCodeRequired,
  onDone,
}: {
  setupCodeRequired: boolean
  onDone: () => void
}) {
  const [password, setPassword] = useState('')
  const [confirm, setConfirm] = useState('')
  const [code, setCode] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const setup = useMutation((i: { password: string; code: string }) =>
    auth.setup(i.password, i.code || undefined).then(() => true),
  )
  const ids = { pw: useId(), confirm: useId(), code: useId(), help: useId() }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (password.length < MIN_PASSWORD_LENGTH) {
      setProblem(`Use at least ${MIN_PASSWORD_LENGTH} characters.`)
      return
    }
    if (password !== confirm) {
      setProblem('The two passwords are not the same.')
      return
    }
    setProblem(null)
    const ok = await setup.run({ password, code: code.trim() })
    if (ok) onDone()
  }

  return (
    <main id="main" className="centered">
      <form className="card narrow" onSubmit={submit} aria-labelledby="owner-title" noValidate>
        <h1 id="owner-title">Welcome to Flash Box</h1>
        <p id={ids.help}>
          First, choose the owner password. Anyone who can open this page needs it to see or change
          your box. Write it down somewhere safe: it cannot be recovered.
        </p>
        {setupCodeRequired && (
          <TextField
            id={ids.code}
            label="Setup code"
            hint="The Flash Box server printed this code when it started (look at its log)."
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="off"
            required
          />
        )}
        <TextField
          id={ids.pw}
          label="Owner password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="new-password"
          minLength={MIN_PASSWORD_LENGTH}
          aria-describedby={ids.help}
          required
        />
        <TextField
          id={ids.confirm}
          label="Type it again"
          type="password"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          autoComplete="new-password"
          required
        />
        {problem && (
          <p className="notice tone-bad" role="alert">
            {problem}
          </p>
        )}
        {setup.error && <ErrorBox error={setup.error} />}
        <button type="submit" className="primary" disabled={setup.pending}>
          {setup.pending ? 'Saving…' : 'Set the password'}
        </button>
      </form>
    </main>
  )
}

export function LoginPage({
  onDone,
  pairingRequired = false,
}: {
  onDone: () => void
  /** A device new to the box on the shop's network: the one-time pairing code too. */
  pairingRequired?: boolean
}) {
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const login = useMutation((a: { pw: string; code: string }) =>
    auth.login(a.pw, pairingRequired ? a.code : undefined).then(() => true),
  )
  const id = useId()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const ok = await login.run({ pw: password, code })
    if (ok) onDone()
  }

  return (
    <main id="main" className="centered">
      <form className="card narrow" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Log in to Flash Box</h1>
        <TextField
          id={id}
          label="Owner password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
          required
          autoFocus
        />
        {pairingRequired && (
          <TextField
            label="Pairing code"
            hint="This device is new to Flash Box. On the Flash Box computer open Settings → Reachability, press “New pairing code” and type the code here. It works once."
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="one-time-code"
            spellCheck={false}
            placeholder="XXXX-XXXX"
            required
          />
        )}
        {login.error && <ErrorBox error={login.error} />}
        <button
          type="submit"
          className="primary"
          disabled={login.pending || !password || (pairingRequired && !code.trim())}
        >
          {login.pending ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </main>
  )
}
