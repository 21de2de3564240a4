// A hash router: `#/service/bitcoind` → the page whose path is `/service/:id`, params { id }.
// Hash routing works the same from file:// (Electron) and from the headless server.
import { useSyncExternalStore } from 'react'

export interface Match {
  readonly params: Readonly<Record<string, string>>
}

export function currentPath(): string {
  const h = typeof location === 'undefined' ? '' : location.hash.replace(/^#/, '')
  return h.startsWith('/') ? h : '/'
}

/** `/service/:id` against `/service/lnd` → { params: { id: 'lnd' } }; null when it does not fit. */
export function matchPath(pattern: string, path: string): Match | null {
  const pathOnly = path.split('?')[0] ?? '/'
  const want = pattern.split('/').filter(Boolean)
  const got = pathOnly.split('/').filter(Boolean)
  if (want.length !== got.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = got[i]!
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g)
      } catch {
        return null
      }
    } else if (w !== g) return null
  }
  return { params }
}

export function navigate(path: string): void {
  location.hash = path
}

export function hrefFor(path: string): string {
  return `#${path}`
}

function subscribeHash(fn: () => void): () => void {
  window.addEventListener('hashchange', fn)
  return () => window.removeEventListener('hashchange', fn)
}

/** The current path; re-renders on navigation. */
export function usePath(): string {
  return useSyncExternalStore(subscribeHash, currentPath, () => '/')
}
