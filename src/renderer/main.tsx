import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { auth } from './api/auth'
import { api } from './api/client'
import { askEarly } from './api/first-answers'
import { applyTheme, loadTheme } from './shell/theme'
import './styles.css'

applyTheme(loadTheme())
// Ask for the login state and the stack's status at once, in parallel, before React mounts:
// the login gate takes the first, the setup gate and the dashboard share the second.
askEarly('auth.state', () => auth.state())
askEarly('stack.status', () => api.stack.status({}), 2)
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
