// A shop device on the LAN, run inside the test's own network namespace (ip netns exec): it
// finds the box by mDNS, then makes the requests it is given, trusting only the CA it is handed.
// Input: one JSON argument { hosts: {name: ip}, ca: PEM, steps: [...] }; output: one JSON line,
// one result per step. Steps:
//   { kind: 'mdns', host, iface, port }                      → { address }
//   { kind: 'http', url, method?, headers?, body?, ca?, jar? } → { status, headers, body } | { error }
//   { kind: 'ws', url, send }                                 → { message } | { error }
//   { kind: 'tcp', host, port }                               → { connected } | { error }
//   { kind: 'flood', url, count, concurrency, seconds, ca? }  → { ok, other }
import https from 'node:https'
import http from 'node:http'
import net from 'node:net'
import makeMdns from 'multicast-dns'
import WebSocket from 'ws'

const input = JSON.parse(process.argv[2])
const hosts = { ...input.hosts }
const jars = new Map()

const lookup = (hostname, options, cb) => {
  const ip = hosts[hostname] ?? (net.isIP(hostname) ? hostname : undefined)
  if (!ip) return cb(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }))
  if (options?.all) return cb(null, [{ address: ip, family: net.isIP(ip) }])
  return cb(null, ip, net.isIP(ip))
}

function mdns(step) {
  return new Promise((resolve) => {
    const m = makeMdns({ interface: step.iface, bind: '0.0.0.0', port: step.port, reuseAddr: true })
    const done = (r) => {
      clearTimeout(timer)
      m.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done({ error: 'no answer' }), 4000)
    m.on('response', (res) => {
      const a = res.answers.find((r) => r.name === step.host && r.type === 'A')
      if (a) {
        hosts[step.host] = a.data
        done({ address: a.data })
      }
    })
    m.on('ready', () => m.query({ questions: [{ name: step.host, type: 'A' }] }))
  })
}

function request(step) {
  return new Promise((resolve) => {
    const u = new URL(step.url)
    const jar = step.jar ? (jars.get(step.jar) ?? new Map()) : undefined
    if (jar && step.jar) jars.set(step.jar, jar)
    const headers = { ...(step.headers ?? {}) }
    if (jar?.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const body = step.body === undefined ? undefined : JSON.stringify(step.body)
    if (body) headers['content-type'] = 'application/json'
    const lib = u.protocol === 'https:' ? https : http
    const req = lib.request(
      u,
      {
        method: step.method ?? 'GET',
        headers,
        lookup,
        agent: false,
        timeout: 10_000,
        ...(u.protocol === 'https:' ? { ca: step.ca === false ? [] : input.ca } : {}),
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (text += d))
        res.on('end', () => {
          for (const c of [res.headers['set-cookie'] ?? []].flat()) {
            const [pair] = c.split(';')
            const i = pair.indexOf('=')
            if (jar) jar.set(pair.slice(0, i), pair.slice(i + 1))
          }
          resolve({ status: res.statusCode, body: text })
        })
      },
    )
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (err) => resolve({ error: err.code ?? err.message }))
    req.end(body)
  })
}

function ws(step) {
  return new Promise((resolve) => {
    const s = new WebSocket(step.url, { ca: input.ca, lookup, handshakeTimeout: 10_000 })
    s.on('open', () => s.send(JSON.stringify(step.send)))
    s.on('message', (m) => {
      const msg = JSON.parse(String(m))
      if (msg[0] === 'AUTH') return // NIP-42's challenge comes first; the answer to REQ follows
      resolve({ message: msg })
      s.close()
    })
    s.on('unexpected-response', (_req, res) => resolve({ error: `HTTP ${res.statusCode}` }))
    s.on('error', (err) => resolve({ error: err.code ?? err.message }))
  })
}

function tcp(step) {
  return new Promise((resolve) => {
    const s = net.connect({ host: step.host, port: step.port, timeout: 3000 })
    s.on('connect', () => {
      s.destroy()
      resolve({ connected: true })
    })
    s.on('timeout', () => {
      s.destroy()
      resolve({ error: 'TIMEOUT' })
    })
    s.on('error', (err) => resolve({ error: err.code ?? err.message }))
  })
}

async function flood(step) {
  let left = step.count
  let ok = 0
  let other = 0
  const end = Date.now() + step.seconds * 1000
  const agent = new https.Agent({
    keepAlive: true,
    ca: input.ca,
    lookup,
    maxSockets: step.concurrency,
  })
  const one = () =>
    new Promise((resolve) => {
      const req = https.get(step.url, { agent }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode === 200) ok++
          else other++
          resolve()
        })
      })
      req.on('error', () => {
        other++
        resolve()
      })
    })
  const worker = async () => {
    while (left-- > 0 && Date.now() < end) await one()
  }
  await Promise.all(Array.from({ length: step.concurrency }, worker))
  agent.destroy()
  return { ok, other }
}

const run = { mdns, http: request, ws, tcp, flood }
const results = []
for (const step of input.steps) results.push(await run[step.kind](step))
process.stdout.write(JSON.stringify(results) + '\n')
