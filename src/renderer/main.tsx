import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { auth } from './api/auth'
import { api } from './api/client'
import { askEarly } from './api/first-answers'
import { applyTheme, loadTheme } from './shell/theme'
import './styles.css'

applyTheme(loadTheme())
// Ask for the login state before React mounts, and the stack's status the moment the login
// state says we may (asking without a session would only earn a 401): the login gate takes the
// first answer, the setup gate and the dashboard share the second.
const authState = auth.state()
askEarly('auth.state', () => authState)
askEarly(
  'stack.status',
  async () => {
    if (!(await authState).authenticated) throw new Error('not logged in yet')
    return api.stack.status({})
  },
  2,
)
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
