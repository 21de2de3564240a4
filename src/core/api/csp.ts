// The Content-Security-Policy every window of the app runs under (Electron session headers, the
// renderer's <meta>, and the headless server's responses). No inline script, no eval, no
// third-party origin: the UI loads only its own files and talks only to its own engine.
export function contentSecurityPolicy(
  opts: {
    connect?: readonly string[]
    /** `electron-vite dev` only: the React Refresh preamble is an inline script. */
    devServer?: boolean
  } = {},
): string {
  const connect = ["'self'", ...(opts.connect ?? [])].join(' ')
  return [
    "default-src 'none'",
    opts.devServer ? "script-src 'self' 'unsafe-inline'" : "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Headers the headless server puts on every response. */
export function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
  }
}
