// Serves the built renderer (out/renderer). Only files inside the root; no directory listings,
// no dotfiles; hashed assets are cached for good, index.html never.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
}

/** Resolves a URL path to a file under root, or null when it would leave it. */
export function safePath(root: string, urlPath: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]!)
  } catch {
    return null
  }
  if (decoded.includes('\0')) return null
  const rel = normalize(decoded).replace(/^([/\\])+/, '')
  if (rel.split(/[/\\]/).some((part) => part.startsWith('.'))) return null
  const full = join(root, rel)
  const rootWithSep = root.endsWith(sep) ? root : root + sep
  return full === root || full.startsWith(rootWithSep) ? full : null
}

export async function serveStatic(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
): Promise<void> {
  const urlPath = new URL(req.url ?? '/', 'http://x').pathname
  let file = safePath(root, urlPath === '/' ? '/index.html' : urlPath)
  let st = file ? await stat(file).catch(() => null) : null
  if (!st?.isFile() && !urlPath.startsWith('/assets/')) {
    // The app routes in the hash, but an unknown path still gets the app rather than a 404.
    file = join(root, 'index.html')
    st = await stat(file).catch(() => null)
  }
  if (!file || !st?.isFile()) {
    const missing = urlPath.startsWith('/assets/') ? 'This file does not exist.' : noUi(root)
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' })
    res.end(missing)
    return
  }
  const isAsset = urlPath.startsWith('/assets/')
  res.writeHead(200, {
    ...headers,
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': String(st.size),
    'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res)
}

function noUi(root: string): string {
  return `The Flash Box user interface is not built (nothing at ${root}).\nRun "npm run build" and restart the server.\n`
}
