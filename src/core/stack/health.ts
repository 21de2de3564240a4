// Docker HEALTHCHECK commands for images that ship no HTTP client: bash's /dev/tcp speaks just
// enough TCP/HTTP to ask a service whether it answers. Health means "serving requests"; sync
// progress is reported separately (stack.sync).
import type { HealthProbe } from './spec'

export interface ProbeTiming {
  readonly intervalMs?: number
  readonly timeoutMs?: number
  readonly retries?: number
  readonly startPeriodMs: number
}

export function probe(test: readonly string[], t: ProbeTiming): HealthProbe {
  return {
    test,
    intervalMs: t.intervalMs ?? 10_000,
    timeoutMs: t.timeoutMs ?? 10_000,
    retries: t.retries ?? 6,
    startPeriodMs: t.startPeriodMs,
  }
}

/**
 * Healthy when GET http://127.0.0.1:<port><path> answers: with a 2xx status (`'2xx'`), or with
 * any HTTP status (`'any'`: the server is up even if it reports that it is still syncing).
 */
export function httpProbe(port: number, path: string, accept: '2xx' | 'any'): readonly string[] {
  const pattern = accept === '2xx' ? `'HTTP/1.'?' 2'*` : `'HTTP/1.'?' '*`
  const script =
    `exec 3<>/dev/tcp/127.0.0.1/${port} && ` +
    `printf 'GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && ` +
    `read -r -t 8 status <&3 && case "$status" in ${pattern}) exit 0;; *) exit 1;; esac`
  return ['CMD', 'bash', '-c', script]
}

/** Healthy when an Electrum server on <port> answers `server.ping` with a result. */
export function electrumPingProbe(port: number): readonly string[] {
  const script =
    `exec 3<>/dev/tcp/127.0.0.1/${port} && ` +
    `printf '{"jsonrpc":"2.0","id":0,"method":"server.ping","params":[]}\\n' >&3 && ` +
    `read -r -t 8 reply <&3 && case "$reply" in *'"result"'*) exit 0;; *) exit 1;; esac`
  return ['CMD', 'bash', '-c', script]
}

/** Healthy when a Node.js service answers GET <url> with a 2xx status (images with node). */
export function nodeFetchProbe(
  url: string,
  headers: Record<string, string> = {},
): readonly string[] {
  const script =
    `fetch(${JSON.stringify(url)},{headers:${JSON.stringify(headers)},signal:AbortSignal.timeout(8000)})` +
    `.then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`
  return ['CMD', 'node', '-e', script]
}
