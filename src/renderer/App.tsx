// The app shell: login (headless only) → first-run wizard (until setup is complete) → pages.
import { Suspense, lazy, useEffect, useState, type ReactNode } from 'react'
import { api, transport } from './api/client'
import { auth, type AuthState } from './api/auth'
import { firstAnswer } from './api/first-answers'
import { useQuery } from './api/hooks'
import type { HttpTransport } from './api/http-transport'
import { toApiError, type ApiError, type ConnectionState } from './api/transport'
import { LoginPage, OwnerPasswordPage } from './auth/AuthPages'
import { pages } from './pages'
import { hrefFor, matchPath, usePath } from './router'
import { ErrorBox, Spinner } from './shell/common'
import { applyTheme, loadTheme, nextTheme, type ThemeChoice } from './shell/theme'

const SetupWizard = lazy(() => import('./wizard/SetupWizard'))

export function App() {
  return (
    <AuthGate>
      {(logout) => (
        <SetupGate logout={logout}>
          <Shell logout={logout} />
        </SetupGate>
      )}
    </AuthGate>
  )
}

function AuthGate({ children }: { children: (logout: (() => void) | null) => ReactNode }) {
  const [state, setState] = useState<AuthState | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [tick, setTick] = useState(0)
  const reload = () => setTick((t) => t + 1)

  useEffect(() => {
    let alive = true
    firstAnswer('auth.state', () => auth.state()).then(
      (s) => alive && (setState(s), setError(null)),
      (e: unknown) => alive && setError(toApiError(e)),
    )
    return () => {
      alive = false
    }
  }, [tick])

  useEffect(() => {
    const t = transport()
    if (t.kind !== 'http') return
    return (t as HttpTransport).onUnauthorized(() => setTick((n) => n + 1))
  }, [])

  if (error)
    return (
      <CenteredCard title="Flash Box">
        <ErrorBox error={error} />
        <button type="button" onClick={reload}>
          Try again
        </button>
      </CenteredCard>
    )
  if (!state) return <Spinner label="Connecting to Flash Box…" />
  if (!state.passwordSet)
    return <OwnerPasswordPage setupCodeRequired={state.setupCodeRequired} onDone={reload} />
  if (!state.authenticated)
    return <LoginPage onDone={reload} pairingRequired={state.pairingRequired} />
  const logout = state.required
    ? () => {
        void auth.logout().finally(() => {
          const t = transport()
          if (t.kind === 'http') (t as HttpTransport).disconnect()
          reload()
        })
      }
    : null
  return <>{children(logout)}</>
}

function SetupGate({ children, logout }: { children: ReactNode; logout: (() => void) | null }) {
  const status = useQuery(() => firstAnswer('stack.status', () => api.stack.status({})), [])
  if (status.error)
    return (
      <CenteredCard title="Flash Box">
        <ErrorBox error={status.error} />
        <button type="button" onClick={status.refresh}>
          Try again
        </button>
      </CenteredCard>
    )
  if (!status.data) return <Spinner label="Loading…" />
  if (!status.data.setupComplete)
    return (
      <>
        <header className="topbar plain">
          <span className="brand">Flash Box</span>
          <span className="spacer" />
          <TopbarControls logout={logout} />
        </header>
        <Suspense fallback={<Spinner label="Loading the setup…" />}>
          <SetupWizard onDone={status.refresh} />
        </Suspense>
      </>
    )
  return <>{children}</>
}

export function CenteredCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main id="main" className="centered">
      <section className="card narrow" aria-labelledby="centered-title">
        <h1 id="centered-title">{title}</h1>
        {children}
      </section>
    </main>
  )
}

function useConnection(): ConnectionState {
  const [state, setState] = useState<ConnectionState>('open')
  useEffect(() => {
    const t = transport()
    if (t.kind !== 'http') return
    return (t as HttpTransport).onConnection(setState)
  }, [])
  return state
}

function Shell({ logout }: { logout: (() => void) | null }) {
  const path = usePath()
  const connection = useConnection()

  let page = pages[0]!
  let params: Record<string, string> = {}
  let found = false
  for (const p of pages) {
    const m = matchPath(p.path, path)
    if (m) {
      page = p
      params = { ...m.params }
      found = true
      break
    }
  }
  useEffect(() => {
    document.title = `${found ? page.title : 'Not found'} · Flash Box`
  }, [found, page.title])

  const Page = page.component
  return (
    <div className="app">
      <a className="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={hrefFor('/')}>
          Flash Box
        </a>
        {(connection === 'closed' || connection === 'connecting') && (
          <span className="badge tone-warn" role="status">
            {connection === 'connecting' ? 'Reconnecting…' : 'Connection lost — retrying'}
          </span>
        )}
        <span className="spacer" />
        <TopbarControls logout={logout} />
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {pages
            .filter((p) => p.nav)
            .map((p) => (
              <li key={p.id}>
                <a
                  href={hrefFor(p.path)}
                  aria-current={
                    p.id === (page.nav ? page.id : (page.parent ?? page.id)) ? 'page' : undefined
                  }
                >
                  {p.title}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {found ? (
          <Suspense fallback={<Spinner label={`Loading ${page.title}…`} />}>
            <Page key={path} params={params} />
          </Suspense>
        ) : (
          <section>
            <h1>Page not found</h1>
            <p>
              There is no page at this address. <a href={hrefFor('/')}>Go to the dashboard</a>.
            </p>
          </section>
        )}
      </main>
    </div>
  )
}

/** Theme toggle and (headless only) log out: on every screen after login. */
function TopbarControls({ logout }: { logout: (() => void) | null }) {
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme)
  useEffect(() => applyTheme(theme), [theme])
  const themeLabel = { system: 'System theme', light: 'Light theme', dark: 'Dark theme' }[theme]
  return (
    <>
      <button
        type="button"
        className="ghost"
        onClick={() => setTheme(nextTheme(theme))}
        aria-label={`${themeLabel}. Change theme`}
      >
        {themeLabel}
      </button>
      {logout && (
        <button type="button" className="ghost" onClick={logout}>
          Log out
        </button>
      )}
    </>
  )
}

function skipToMain(e: React.MouseEvent) {
  // The hash router owns location.hash; move focus without navigating.
  e.preventDefault()
  document.getElementById('main')?.focus()
}
