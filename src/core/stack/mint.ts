// The box's own Cashu mint (services/mint), as a container built from docker/mint — used when
// settings.ownServices is 'container'. Its Lightning backend is LND when LND is enabled; without
// LND only the fake Lightning backend is possible, and checkSettings allows that on regtest only
// (the fake backend is a first-class regtest feature, never a way to take real money).
// Environment as read by the mint's entry point (services/mint/src/main.ts): MINT_PORT, MINT_HOST,
// MINT_DATA_DIR, MINT_CONFIG_JSON, MINT_BACKEND, MINT_LND_*, FLASHBOX_MINT_SEED_KEY_FILE.
// Health: NUT-06 GET /v1/info.
// The mint's seed is sealed under a key derived from the box key (purpose 'mint.seed', the same
// key the engine gives the mint when it runs inside the app), so the same seed opens in either
// place. The supervisor writes that key into a tmpfs in the container at each start and holds the
// mint in "Waiting for unlock" while the box is locked (src/core/supervisor/unlock-keys.ts).
// The same way it gets K (purpose 'mint.internal-settlement'), the key it signs its calls to the
// box's settlement hook with (INTERNAL-SETTLEMENT design): the hook listens on this computer's
// address on the stack network, which the container knows as `flashbox-host` (its /etc/hosts,
// written by the supervisor from the network's gateway).
import { trustedProxyEnv } from './caddy'
import { serviceDir, type RenderContext } from './context'
import { nodeFetchProbe, probe } from './health'
import { MACAROON_MOUNT, macaroonDir } from './macaroons'
import { servicePorts } from './networks'
import { stackPaths } from './paths'
import type { ContainerSpec, Dependency, MountSpec, RenderedFile, UnlockKeys } from './spec'
import { serviceConfinement } from './confinement'
import { SETTLEMENT_HOOK_HOSTNAME, settlementHookUrl } from '../merchant/internal-settlement-hook'

export type MintLightningBackend = 'lnd' | 'fake'

export function mintLightningBackend(ctx: Pick<RenderContext, 'settings'>): MintLightningBackend {
  return ctx.settings.services.lnd ? 'lnd' : 'fake'
}

/** Where the mint container finds its seed key (tmpfs; the mint removes the file once read). */
export const MINT_KEYS_DIR = '/run/flashbox-keys'
export const mintUnlockKeys: UnlockKeys = {
  dir: MINT_KEYS_DIR,
  files: [
    { name: 'mint.seed', purpose: 'mint.seed' },
    { name: 'internal-settlement.key', purpose: 'mint.internal-settlement' },
  ],
  node: '/usr/local/bin/node',
}

export function mintSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'mint')
  const backend = mintLightningBackend(ctx)
  const env: Record<string, string> = {
    MINT_PORT: String(servicePorts.mint),
    MINT_HOST: '0.0.0.0',
    MINT_DATA_DIR: '/data',
    MINT_CONFIG_JSON: JSON.stringify({ network: ctx.settings.network }),
    // With a front door, the per-IP limits count the client it forwards, not the gateway.
    ...(trustedProxyEnv(ctx.settings)
      ? { MINT_TRUSTED_PROXIES: trustedProxyEnv(ctx.settings)! }
      : {}),
    MINT_BACKEND: backend,
    FLASHBOX_MINT_SEED_KEY_FILE: `${MINT_KEYS_DIR}/mint.seed`,
    FLASHBOX_MINT_INTERNAL_KEY_FILE: `${MINT_KEYS_DIR}/internal-settlement.key`,
    MINT_INTERNAL_SETTLEMENT_URL: settlementHookUrl(SETTLEMENT_HOOK_HOSTNAME),
  }
  const mounts: MountSpec[] = [{ kind: 'bind', source: dir, target: '/data' }]
  const files: RenderedFile[] = []
  const dependsOn: Dependency[] = []
  if (backend === 'lnd') {
    env.MINT_LND_SOCKET = `lnd:${servicePorts.lndGrpc}`
    env.MINT_LND_MACAROON_PATH = `${MACAROON_MOUNT}/mint.macaroon`
    env.MINT_LND_CERT_PATH = '/data/lnd-tls.cert'
    mounts.push({
      kind: 'bind',
      source: macaroonDir(ctx.settings.dataDir, 'mint'),
      target: MACAROON_MOUNT,
      readOnly: true,
    })
    files.push({
      hostPath: stackPaths(ctx.settings.dataDir).mint.lndCert,
      contents: ctx.secrets.lndTls.certPem,
      mode: 0o644,
      secret: false,
    })
    // The mint cannot quote or pay without an unlocked LND.
    dependsOn.push({ id: 'lnd', condition: 'healthy' })
  }
  return {
    id: 'mint',
    displayName: 'Cashu mint',
    description:
      'Your own eCash mint: private, instant tokens backed by the bitcoin in your Lightning node.',
    image: ctx.image('mint'),
    command: [],
    env,
    ports: [
      {
        container: servicePorts.mint,
        host: servicePorts.mint,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Cashu mint (HTTP)',
      },
    ],
    mounts,
    files,
    health: probe(nodeFetchProbe(`http://127.0.0.1:${servicePorts.mint}/v1/info`), {
      intervalMs: 5_000,
      startPeriodMs: 60_000,
    }),
    dependsOn,
    stopGraceSeconds: 30, // finish in-flight melts' bookkeeping before exit
    confinement: serviceConfinement.mint,
    user: ctx.user,
    hostname: 'mint',
    unlockKeys: mintUnlockKeys,
    gatewayHostname: SETTLEMENT_HOOK_HOSTNAME,
  }
}
