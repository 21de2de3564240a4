// Tor on the real `tor` (Debian's binary in a test image, io.flashbox.test=1), offline: the
// rendered torrc passes `tor --verify-config`; tor loads the keys the box made and writes the very
// hostnames the box computed, the same after a restart (DisableNetwork: no bootstrap needed);
// and with no network at all, the box asks tor over its control socket (cookie auth) how far it
// got, shows "Tor: connecting N%", and reports tor.offline once the patience has passed — while
// the onion hostnames exist and stay the same.
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  loadOrCreateOnionKeys,
  onionKeysPath,
  writeHiddenServiceDirs,
} from '../../src/core/reach/onion-store'
import type { TorView } from '../../src/shared/api/reach'
import { defaultSettings, type Settings } from '../../src/shared/settings'
import { saveSettingsFile } from '../../src/core/engine/stack-module'
import { EventBus } from '../../src/core/events'
import { silentLogger } from '../../src/core/log'
import { createReachModule } from '../../src/core/reach/reach-module'
import { stackCatalog } from '../../src/core/stack/catalog'
import { onionServices, renderTorrc } from '../../src/core/reach/torrc'
import { debianTorImage } from '../images/debian-binary-image'

const names: string[] = []
const dirs: string[] = []
/** How long the box waits for tor to reach 100% in this test (2 minutes in the app). */
const PATIENCE_MS = 20_000
function docker(args: string[], timeout = 60_000) {
  return spawnSync('docker', args, { encoding: 'utf8', timeout })
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs tor until `done(log)` or `seconds`, then removes it; returns its log. */
async function runTor(
  image: string,
  dir: string,
  args: string[],
  done: (log: string) => boolean,
  seconds = 20,
): Promise<string> {
  const name = `flashbox-test-tor-${process.pid}-${names.length}`
  names.push(name)
  const r = docker([
    'run',
    '-d',
    '--name',
    name,
    '--label',
    'io.flashbox.test=1',
    '--network',
    'none',
    '--user',
    `${process.getuid!()}:${process.getgid!()}`,
    '-v',
    `${dir}:/data`,
    image,
    ...args,
  ])
  if (r.status !== 0) throw new Error(r.stderr)
  const until = Date.now() + seconds * 1000
  let log: string
  for (;;) {
    const l = docker(['logs', name])
    log = l.stdout + l.stderr
    if (done(log) || Date.now() > until) break
    await sleep(250)
  }
  docker(['rm', '-f', name])
  return log
}

describe('Tor onion services (real tor, offline)', () => {
  let dir: string
  let image: string
  const services = onionServices({
    mint: true,
    relay: true,
    frontDoorPort: 8480,
    mintPort: 3338,
    relayPort: 7777,
    lndP2p: true,
    lndRest: true,
  })

  beforeAll(() => {
    image = debianTorImage().tag
    dir = mkdtempSync(join(tmpdir(), 'flashbox-tor-'))
    chmodSync(dir, 0o700)
  })
  afterAll(() => {
    for (const n of names) docker(['rm', '-f', n])
    for (const d of [dir, ...dirs]) if (d) rmSync(d, { recursive: true, force: true })
  })

  it('verify-config accepts the torrc; tor serves the box’s own keys, across restarts', async () => {
    const keys = loadOrCreateOnionKeys(
      dir,
      services.map((s) => s.name),
    )
    expect(statSync(onionKeysPath(dir)).mode & 0o777).toBe(0o600)
    writeHiddenServiceDirs(join(dir, 'tor', 'hs'), keys)
    expect(statSync(join(dir, 'tor', 'hs', 'mint', 'hs_ed25519_secret_key')).mode & 0o777).toBe(
      0o600,
    )
    const torrc = renderTorrc({
      dataDir: '/data/tor/state',
      hsRoot: '/data/tor/hs',
      services,
      disableNetwork: true,
    })
    writeFileSync(join(dir, 'tor', 'torrc'), torrc)
    // Tor's data folder is made private before tor starts, as the stack does (prepareTorDataDir).
    mkdirSync(join(dir, 'tor', 'state'), { mode: 0o700 })

    const verify = docker([
      'run',
      '--rm',
      '--label',
      'io.flashbox.test=1',
      '--network',
      'none',
      '-v',
      `${dir}:/data`,
      image,
      '--verify-config',
      '-f',
      '/data/tor/torrc',
    ])
    expect(verify.stdout + verify.stderr).toContain('Configuration was valid')

    for (const round of [1, 2]) {
      // tor writes each hostname from the key it loaded; remove them so a stale file cannot pass.
      for (const s of services) rmSync(join(dir, 'tor', 'hs', s.name, 'hostname'), { force: true })
      const hostnames = () =>
        services.every((x) => {
          try {
            return readFileSync(join(dir, 'tor', 'hs', x.name, 'hostname'), 'utf8').length > 0
          } catch {
            return false
          }
        })
      await runTor(image, dir, ['-f', '/data/tor/torrc'], () => hostnames(), 20)
      for (const s of services) {
        const written = readFileSync(join(dir, 'tor', 'hs', s.name, 'hostname'), 'utf8').trim()
        expect(written, `${s.name} round ${round}`).toBe(keys[s.name].hostname)
      }
      // The box's keys file is unchanged: the same addresses next time.
      expect(
        loadOrCreateOnionKeys(
          dir,
          services.map((s) => s.name),
        ).mint.hostname,
      ).toBe(keys.mint.hostname)
    }
  })

  it('offline (no network at all), the box reports the stuck bootstrap as tor.offline within the bound', async () => {
    // The stack as the app renders it: settings with Tor on, the catalog writes the keys and
    // the torrc (control socket and all); tor runs as the box's user with no network at all.
    const engineDir = mkdtempSync(join(tmpdir(), 'flashbox-tor-engine-'))
    dirs.push(engineDir)
    const stackDir = join(engineDir, 'stack')
    const settings: Settings = {
      ...defaultSettings(stackDir),
      services: { electrs: false, lnd: true, relay: true, mint: true, btcpay: false },
      reach: { frontDoorPort: 8480, enginePort: 8347, tor: { lndP2p: true, lndRest: false } },
    }
    saveSettingsFile(engineDir, settings)
    const plan = await stackCatalog({ machine: { memoryBytes: 8 * 2 ** 30, cpus: 4 } }).render(
      settings,
    )
    const tor = plan.services.find((x) => x.id === 'tor')!
    for (const f of tor.files) writeFileSync(f.hostPath, f.contents, { mode: f.mode })
    const mount = tor.mounts[0]!
    if (mount.kind !== 'bind') throw new Error('tor keeps its data in a bind mount')
    const torHostDir = mount.source
    const user = `${process.getuid!()}:${process.getgid!()}`
    const run = (extra: string[], args: string[]) =>
      docker([
        'run',
        ...extra,
        '--label',
        'io.flashbox.test=1',
        '--network',
        'none',
        '--user',
        user,
        '-v',
        `${torHostDir}:/data`,
        image, // its entrypoint is Debian's /usr/bin/tor
        ...args,
      ])

    // The torrc as rendered (with its ControlPort unix: socket and cookie) is valid.
    const verify = run(['--rm'], ['--verify-config', ...tor.command!])
    expect(verify.stdout + verify.stderr).toContain('Configuration was valid')

    const reach = createReachModule(
      { dataDir: engineDir, log: silentLogger, events: new EventBus(), modules: new Map() },
      { torPatienceMs: PATIENCE_MS },
    )
    const CTX = { transport: 'internal' } as const
    // Before tor runs: nothing to ask, said plainly.
    expect((await reach.handlers.status({}, CTX)).tor?.state).toBe('not-running')

    const name = `flashbox-test-tor-${process.pid}-stuck`
    names.push(name)
    const started = run(['-d', '--name', name], [...tor.command!])
    expect(started.status, started.stderr).toBe(0)
    const t0 = Date.now()
    const seen: string[] = []
    let last: TorView | undefined
    while (Date.now() - t0 < PATIENCE_MS + 30_000) {
      last = (await reach.handlers.status({}, CTX)).tor
      if (last && !seen.includes(last.words)) seen.push(last.words)
      if (last?.state === 'offline') break
      await sleep(1_000)
    }
    const tookMs = Date.now() - t0
    const logs = docker(['logs', name])
    expect(last?.state, `${seen.join(' | ')}\n${logs.stdout}${logs.stderr}`).toBe('offline')
    // It was connecting first (tor's own progress, asked over the control socket) and was
    // called offline only once the patience had passed.
    expect(seen.some((w) => /^Tor: connecting \d+%/.test(w))).toBe(true)
    // Measured by tor's own uptime, so a slow `docker run` does not count.
    const after = Number(/after (\d+) seconds\)/.exec(last?.problem?.message ?? '')?.[1])
    expect(after).toBeGreaterThanOrEqual(PATIENCE_MS / 1000)
    expect(tookMs).toBeLessThan(PATIENCE_MS + 20_000)
    expect(last?.problem?.code).toBe('tor.offline')
    expect(last?.problem?.message).toMatch(
      /^Tor cannot reach the Tor network \(stuck at \d+%.*\), so your onion addresses do not work yet\.$/,
    )
    expect(last?.problem?.hint).toMatch(/Check that this computer is online/)
    // The pairing cards that lead over Tor say so too.
    const status = await reach.handlers.status({}, CTX)
    const mintCard = status.pairing.find((p) => p.id === 'mint')!
    expect(mintCard.overTor).toBe(true)

    // Stuck or not, the onion hostnames exist: tor wrote the ones the box computed, and they
    // are the same after tor is restarted.
    const hostnames = () =>
      Object.fromEntries(
        ['mint', 'relay', 'frontdoor', 'lnd-p2p'].map((n) => [
          n,
          readFileSync(join(torHostDir, 'hs', n, 'hostname'), 'utf8').trim(),
        ]),
      )
    const before = hostnames()
    for (const o of status.onions) expect(before[o.name], o.name).toBe(o.hostname)
    expect(status.onions.map((o) => o.name).sort()).toEqual(Object.keys(before).sort())
    // Removed while tor is stopped: removed after a restart, tor may already have rewritten it.
    docker(['stop', '-t', '2', name])
    rmSync(join(torHostDir, 'hs', 'mint', 'hostname'))
    docker(['start', name])
    const until = Date.now() + 20_000
    while (!existsSync(join(torHostDir, 'hs', 'mint', 'hostname')) && Date.now() < until)
      await sleep(250)
    expect(hostnames()).toEqual(before)
    docker(['rm', '-f', name])
    expect((await reach.handlers.status({}, CTX)).tor?.state).toBe('not-running')
  })
})
