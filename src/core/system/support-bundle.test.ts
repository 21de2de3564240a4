import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SupportBundleResult } from '../../shared/api/system'
import { defaultSettings } from '../../shared/settings'
import { createEngine, type Engine } from '../engine/engine'
import { saveSettingsFile, stackModule } from '../engine/stack-module'
import { createLogger } from '../log'
import { loadOrCreateStackSecrets } from '../secrets'
import { systemModule } from './system-module'
import { collectSecretValues, REDACTED, redactSecrets } from './support-bundle'

const internal = { transport: 'internal' as const }
const dirs: string[] = []
let engine: Engine | undefined

afterEach(async () => {
  await engine?.stop()
  engine = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tmp(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `fb-${name}-`))
  dirs.push(d)
  return d
}

/** Every string in every file under the secrets folders (what must never leave the box). */
function secretStrings(root: string): string[] {
  const out: string[] = []
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') Object.values(v).forEach(walk)
  }
  const dir = join(root, 'secrets')
  for (const f of readdirSync(dir)) walk(JSON.parse(readFileSync(join(dir, f), 'utf8')))
  return out.filter((s) => s.length >= 16)
}

describe('support bundle', () => {
  it('holds versions, settings, states and the log, and no secret of the stack', async () => {
    const engineDir = tmp('engine')
    const stackDir = tmp('stack') // a data folder that differs from the engine's
    saveSettingsFile(engineDir, defaultSettings(stackDir))
    await loadOrCreateStackSecrets(stackDir)
    // A secret nobody registered with the logger, written the way the box writes secrets, and
    // then leaked into a log line: the bundle must still not carry it.
    const leaked = 'leaked-api-token-' + 'f'.repeat(40)
    mkdirSync(join(engineDir, 'secrets'), { recursive: true, mode: 0o700 })
    writeFileSync(join(engineDir, 'secrets', 'extra.json'), JSON.stringify({ token: leaked }), {
      mode: 0o600,
    })
    const log = createLogger('test', { sink: () => {} })
    engine = await createEngine({
      dataDir: engineDir,
      log,
      modules: [
        stackModule({
          supervisor: {
            connect: async () => ({
              status: { state: 'not-running', host: 'unix:///nowhere.sock', os: 'linux' },
              endpoint: {
                host: 'unix:///nowhere.sock',
                options: { socketPath: '/nowhere.sock' },
                explicit: true,
              },
            }),
            resyncMs: 60_000,
            reconnectBaseMs: 60_000,
          },
        }),
        systemModule(),
      ],
    })
    const secrets = [...secretStrings(stackDir), ...secretStrings(engineDir)]
    expect(secrets.length).toBeGreaterThan(8)
    log.warn(`something went wrong with ${leaked}`)
    const stackSecrets = JSON.parse(
      readFileSync(join(stackDir, 'secrets', 'stack-secrets.json'), 'utf8'),
    ) as { lndWalletPassword: string; bitcoindRpc: { lnd: { password: string } } }
    log.error(`rpc password was ${stackSecrets.bitcoindRpc.lnd.password}`)

    const path = join(tmp('out'), 'support.json')
    const r = (await engine.call(
      'system',
      'saveSupportBundle',
      { path },
      internal,
    )) as SupportBundleResult
    expect(r.path).toBe(path)
    expect(r.secretsRemoved).toBeGreaterThan(0)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const text = readFileSync(path, 'utf8')
    for (const s of secrets) expect(text.includes(s), `secret ${s.slice(0, 8)}… leaked`).toBe(false)
    expect(text).not.toMatch(/PRIVATE KEY-----/)
    const bundle = JSON.parse(text) as {
      diagnostics: {
        versions: { node: string }
        stackDataDir: string
        recentProblems: { message: string }[]
      }
      settings: { network: string }
      log: string[]
    }
    expect(bundle.settings.network).toBe('regtest')
    expect(bundle.diagnostics.stackDataDir).toBe(stackDir)
    expect(bundle.diagnostics.versions.node).toBe(process.versions.node)
    expect(bundle.log.some((l) => l.includes(`something went wrong with ${REDACTED}`))).toBe(true)
    expect(
      bundle.diagnostics.recentProblems.some((p) => p.message.startsWith('rpc password was')),
    ).toBe(true)

    // Never overwrites.
    await expect(
      engine.call('system', 'saveSupportBundle', { path }, internal),
    ).rejects.toMatchObject({
      code: 'system.bundle_exists',
    })
  })

  it('redacts values from key=value files, binary files and private-key shapes', () => {
    const root = tmp('conf')
    mkdirSync(join(root, 'lnd'), { recursive: true })
    writeFileSync(
      join(root, 'lnd', 'lnd.conf'),
      'alias=shop\nbitcoind.rpcpass=abcdefabcdef0123456789\n',
      { mode: 0o600 },
    )
    const mac = Buffer.from('0201036c6e6402f801030a10', 'hex')
    writeFileSync(join(root, 'lnd', 'admin.macaroon'), mac)
    writeFileSync(join(root, 'public.txt'), 'not-a-secret-but-long-enough', { mode: 0o644 })
    const values = collectSecretValues([root])
    const { text, removed } = redactSecrets(
      [
        'rpcpass abcdefabcdef0123456789',
        `mac ${mac.toString('hex')}`,
        '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----',
        'not-a-secret-but-long-enough',
      ].join('\n'),
      values,
    )
    expect(text).toBe(
      ['rpcpass ‹redacted›', 'mac ‹redacted›', '‹redacted›', 'not-a-secret-but-long-enough'].join(
        '\n',
      ),
    )
    expect(removed).toBe(3)
  })
})
