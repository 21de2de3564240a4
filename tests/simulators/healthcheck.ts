// SIMULATOR support — test-only. A tiny health probe for test images (Docker HEALTHCHECK) in
// which the simulators stand in for bitcoind, electrs and LND. Exits 0 when healthy, 1 when not.
//   healthcheck bitcoind [url] [user] [password]  RPC getblockchaininfo answers (not -28 warm-up);
//                                               url/user/password default to HEALTHCHECK_RPC_URL,
//                                               HEALTHCHECK_RPC_USER, HEALTHCHECK_RPC_PASSWORD
//   healthcheck bitcoind-cookie <url> <cookieFile>  the same, authenticated with bitcoind's .cookie
//   healthcheck electrum <host> <port>           server.ping is answered (electrs has indexed)
//   healthcheck lnd <controlUrl>                 the LND simulator is SERVER_ACTIVE (as `lncli state`)
//   healthcheck lnd-rest <restUrl> <tls.cert>     LND's REST GET /v1/state says SERVER_ACTIVE (world LND)
//   healthcheck http <url>                       GET answers 2xx (e.g. electrs metrics)
//   healthcheck tcp <host> <port>                a TCP connection opens
import { connect } from 'node:net'
import { pathToFileURL } from 'node:url'

const TIMEOUT_MS = 4_000

async function bitcoind(url: string, user: string, password: string): Promise<boolean> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ jsonrpc: '1.0', id: 'healthcheck', method: 'getblockchaininfo' }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  const body = (await res.json()) as { result?: { blocks?: number }; error?: unknown }
  return res.ok && typeof body.result?.blocks === 'number'
}

function tcp(host: string, port: number, line?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(TIMEOUT_MS, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => {
      if (!line) return done(true)
      socket.write(line + '\n')
      let buf = ''
      socket.on('data', (c: Buffer) => {
        buf += c.toString('utf8')
        if (!buf.includes('\n')) return
        try {
          const msg = JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { error?: unknown }
          done(!msg.error)
        } catch {
          done(false)
        }
      })
    })
  })
}

export async function healthcheck(argv: readonly string[], env = process.env): Promise<boolean> {
  const [mode, a, b, c] = argv
  switch (mode) {
    case 'bitcoind':
      return bitcoind(
        a ?? env.HEALTHCHECK_RPC_URL ?? 'http://127.0.0.1:18443',
        b ?? env.HEALTHCHECK_RPC_USER ?? '',
        c ?? env.HEALTHCHECK_RPC_PASSWORD ?? '',
      )
    case 'bitcoind-cookie': {
      const { readFileSync } = await import('node:fs')
      const cookie = readFileSync(b ?? '', 'utf8').trim()
      const colon = cookie.indexOf(':')
      return bitcoind(
        a ?? 'http://127.0.0.1:18443',
        cookie.slice(0, colon),
        cookie.slice(colon + 1),
      )
    }
    case 'electrum':
      return tcp(
        a ?? '127.0.0.1',
        Number(b ?? 60401),
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server.ping', params: [] }),
      )
    case 'lnd': {
      const res = await fetch(`${a ?? 'http://127.0.0.1:10019'}/v1/simulator/state`, {
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      return res.ok && ((await res.json()) as { state?: string }).state === 'SERVER_ACTIVE'
    }
    case 'lnd-rest': {
      const { readFileSync } = await import('node:fs')
      const { request } = await import('node:https')
      const ca = readFileSync(b ?? '/data/.lnd/tls.cert', 'utf8')
      const u = new URL('/v1/state', a ?? 'https://127.0.0.1:8080')
      return new Promise<boolean>((resolve) => {
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            ca,
            servername: 'localhost',
            timeout: TIMEOUT_MS,
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (d: Buffer) => chunks.push(d))
            res.on('end', () => {
              try {
                resolve(JSON.parse(Buffer.concat(chunks).toString()).state === 'SERVER_ACTIVE')
              } catch {
                resolve(false)
              }
            })
          },
        )
        req.on('error', () => resolve(false))
        req.on('timeout', () => req.destroy())
        req.end()
      })
    }
    case 'http': {
      if (!a) return false
      const res = await fetch(a, { signal: AbortSignal.timeout(TIMEOUT_MS) })
      await res.body?.cancel()
      return res.ok
    }
    case 'tcp':
      return tcp(a ?? '127.0.0.1', Number(b))
    default:
      process.stderr.write('usage: healthcheck bitcoind|electrum|lnd|lnd-rest|http|tcp …\n')
      return false
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  healthcheck(process.argv.slice(2))
    .then((ok) => process.exit(ok ? 0 : 1))
    .catch(() => process.exit(1))
}
