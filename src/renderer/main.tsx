import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { currentPath } from './router'
import { applyTheme, loadTheme } from './shell/theme'
import './styles.css'

applyTheme(loadTheme())
// Most visits land on the dashboard: fetch its code while the login and status checks run.
if (currentPath() === '/') void import('./pages/dashboard/DashboardPage')
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
