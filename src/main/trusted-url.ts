// Which pages count as "our renderer": the built index.html on disk, or the dev server in
// `electron-vite dev`. IPC from any other frame is refused and navigation away is blocked.
import { pathToFileURL } from 'node:url'

export interface RendererLocation {
  /** Absolute path of out/renderer/index.html. */
  readonly indexFile: string
  /** ELECTRON_RENDERER_URL in development, e.g. http://localhost:5173. */
  readonly devServerUrl?: string
}

export function isTrustedRendererUrl(url: string, where: RendererLocation): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  if (where.devServerUrl) {
    try {
      if (u.origin === new URL(where.devServerUrl).origin) return true
    } catch {
      // A malformed dev URL trusts nothing extra.
    }
  }
  if (u.protocol !== 'file:') return false
  const want = pathToFileURL(where.indexFile)
  return u.pathname === want.pathname
}

/** Where the main window loads from. */
export function rendererEntry(where: RendererLocation): { url: string } | { file: string } {
  return where.devServerUrl ? { url: where.devServerUrl } : { file: where.indexFile }
}
