// The reach domain as an engine module (Settings → Reachability): the owner's choice of public
// address, LAN front door and Tor (saved in Settings.reach; the stack renders Caddy and Tor from
// it on its next start), the onion addresses, the address self-check and the pairing QR codes.
import { existsSync, readFileSync } from 'node:fs'
import type {
  AddressCheckResult,
  PairingTarget,
  ReachStatus,
  reachApi,
} from '../../shared/api/reach'
import type { HandlersOf } from '../../shared/api/procedure'
import type { ReachSettings } from '../../shared/reach'
import type { Settings } from '../../shared/settings'
import { qrDataUrl } from '../ecash/qr'
import { ownMintUrlFrom } from '../ecash/ecash-module'
import { FlashError } from '../errors'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'
import { loadSettings, saveSettingsFile } from '../engine/stack-module'
import { relayUrlOf } from '../nostr/nostr-module'
import { stackPaths } from '../stack/paths'
import { servicePorts } from '../stack/networks'
import { torServicesFor } from '../stack/tor'
import { checkPublicAddress } from './address-check'
import { checkLanPortFree, lanAddress, lanInterfaces } from './lan'
import { onionKeyFromSeed } from './onion-keys'
import { onionKeysPath } from './onion-store'
import { publishedUrlsFor, type PublishedUrls } from './published-urls'
import { hexToBytes } from '@noble/hashes/utils.js'

export function reachModule(): EngineModuleFactory {
  return (ctx) => createReachModule(ctx)
}

function onionHostnames(settings: Settings): Map<string, { hostname: string; purpose: string }> {
  const out = new Map<string, { hostname: string; purpose: string }>()
  if (!settings.reach?.tor) return out
  const path = onionKeysPath(settings.dataDir)
  if (!existsSync(path)) return out // made on the stack's next start
  let keys: Record<string, string>
  try {
    keys = (JSON.parse(readFileSync(path, 'utf8')) as { keys: Record<string, string> }).keys
  } catch {
    return out // the stack's start reports a damaged file
  }
  for (const s of torServicesFor({ settings })) {
    const seed = keys[s.name]
    if (seed && /^[0-9a-f]{64}$/.test(seed))
      out.set(s.name, { hostname: onionKeyFromSeed(hexToBytes(seed)).hostname, purpose: s.purpose })
  }
  return out
}

function pathWords(p: PublishedUrls): { path: string; sameWifi: boolean } {
  return p.source === 'lan'
    ? { path: 'Shop Wi-Fi (this box’s LAN name, with its certificate installed)', sameWifi: true }
    : { path: 'Internet (your public address)', sameWifi: false }
}

async function target(t: Omit<PairingTarget, 'qr'> & { text?: string }): Promise<PairingTarget> {
  const qr = t.text ? await qrDataUrl(t.text) : undefined
  return { ...t, ...(qr ? { qr } : {}) }
}

async function pairingTargets(settings: Settings | null): Promise<PairingTarget[]> {
  const reach = settings?.reach
  const p = publishedUrlsFor(reach)
  const onions = settings ? onionHostnames(settings) : new Map()
  const tor = (name: string) => onions.get(name)?.hostname as string | undefined
  const torPath = { path: 'Tor (an app with Tor turned on; works from anywhere)', sameWifi: false }
  const none = 'Choose a public address, LAN mode or Tor above, then start the stack again.'
  const out: PairingTarget[] = []

  const mintOnion = tor('mint')
  out.push(
    await target({
      id: 'mint',
      title: 'Cashu mint',
      apps: 'cashu.me, Minibits',
      ...(p
        ? { text: p.mint, ...pathWords(p) }
        : mintOnion
          ? { text: `http://${mintOnion}`, ...torPath }
          : { path: 'This computer only', sameWifi: false, unavailable: none }),
    }),
  )
  const relayOnion = tor('relay')
  out.push(
    await target({
      id: 'relay',
      title: 'Nostr relay',
      apps: 'Any Nostr app (Damus, Amethyst, 0xchat)',
      ...(p
        ? { text: p.relay, ...pathWords(p) }
        : relayOnion
          ? { text: `ws://${relayOnion}`, ...torPath }
          : { path: 'This computer only', sameWifi: false, unavailable: none }),
    }),
  )
  out.push({
    id: 'nwc',
    title: 'Wallet connection (NWC)',
    apps: 'Apps that pay with Nostr Wallet Connect',
    path: 'Through the Nostr relays the connection names',
    sameWifi: false,
    unavailable:
      'Each app gets its own connection with its own budget: make one under Lightning → Connections.',
  })
  out.push({
    id: 'lndconnect',
    title: 'Lightning node (lndconnect)',
    apps: 'Zeus',
    ...torPath,
    ...(reach?.tor?.lndRest && tor('lnd-rest')
      ? {}
      : { unavailable: 'Turn on “LND REST over Tor” below and start the stack again.' }),
  })
  out.push({
    id: 'electrum',
    title: 'Electrum server',
    apps: 'Sparrow, BlueWallet',
    ...torPath,
    unavailable:
      'Not offered yet: the front door speaks HTTP only and no onion service is made for the Electrum server. Use Sparrow on this computer (127.0.0.1:50001).',
  })
  out.push(
    await target({
      id: 'btcpay-pos',
      title: 'BTCPay point of sale',
      apps: 'Any browser on the shop’s tablet',
      ...(p && settings?.services.btcpay
        ? { text: `${p.btcpay}/`, ...pathWords(p) }
        : {
            path: p ? pathWords(p).path : 'This computer only',
            sameWifi: p?.source === 'lan',
            unavailable: settings?.services.btcpay ? none : 'BTCPay is off (Settings → Services).',
          }),
    }),
  )
  return out
}

export function createReachModule(ctx: EngineContext): EngineModule<typeof reachApi> {
  const settings = (): Settings | null => {
    try {
      return loadSettings(ctx.dataDir)
    } catch {
      return null
    }
  }

  const status = async (): Promise<ReachStatus> => {
    const s = settings()
    const p = publishedUrlsFor(s?.reach)
    const onions = s ? onionHostnames(s) : new Map()
    return {
      settings: s?.reach ?? null,
      ...(p
        ? {
            published: {
              base: p.base,
              source: p.source,
              mint: p.mint,
              relay: p.relay,
              nip05Domain: p.nip05Domain,
              btcpay: p.btcpay,
            },
          }
        : {}),
      interfaces: lanInterfaces(),
      onions: [...onions].map(([name, o]) => ({ name, hostname: o.hostname, purpose: o.purpose })),
      pairing: await pairingTargets(s),
    }
  }

  const handlers: HandlersOf<typeof reachApi, RequestContext> = {
    status,
    save: async (reach: ReachSettings) => {
      const s = settings()
      if (!s)
        throw new FlashError(
          'reach.no_setup',
          'Flash Box is not set up yet.',
          'Finish the setup first, then choose how phones reach the box.',
        )
      if (reach.lan) {
        const address = lanAddress(reach.lan.interface)
        const same = s.reach?.lan && JSON.stringify(s.reach.lan) === JSON.stringify(reach.lan)
        // The running front door holds its own ports; check only ports it does not hold yet.
        if (!same) {
          await checkLanPortFree(address, reach.lan.port)
          await checkLanPortFree(address, reach.lan.ownerPort)
        }
      }
      saveSettingsFile(ctx.dataDir, { ...s, reach })
      return status()
    },
    checkAddress: async (): Promise<AddressCheckResult> => {
      const base = publishedUrlsFor(settings()?.reach)?.base
      if (!base)
        return {
          ok: false,
          problem: {
            code: 'reach.no_address',
            message: 'There is no public or LAN address to check yet.',
            hint: 'Enter your public address under Settings → Reachability and save it.',
          },
        }
      const mintUrl = ownMintUrlFrom(ctx)
      const relayUrl = relayUrlOf(ctx.modules.get('relay'))
      return checkPublicAddress(base, {
        ...(mintUrl ? { mintUrl } : {}),
        ...(relayUrl ? { relayUrl } : {}),
      })
    },
    lndconnect: async (): Promise<PairingTarget> => {
      const s = settings()
      const host = s ? onionHostnames(s).get('lnd-rest')?.hostname : undefined
      const base: PairingTarget = {
        id: 'lndconnect',
        title: 'Lightning node (lndconnect)',
        apps: 'Zeus',
        path: 'Tor (Zeus with Tor turned on; works from anywhere)',
        sameWifi: false,
      }
      const macaroon = s ? stackPaths(s.dataDir).macaroon('app') : ''
      if (!s || !host || !existsSync(macaroon))
        return {
          ...base,
          unavailable: !host
            ? 'Turn on “LND REST over Tor” below and start the stack again.'
            : 'LND has no wallet yet: create it on the Lightning page first.',
        }
      // lndconnect://host:port?macaroon=<base64url>: over an onion address Tor authenticates
      // the server, so no certificate is added (Zeus's Tor mode does not check it).
      const mac = readFileSync(macaroon).toString('base64url')
      const uri = `lndconnect://${host}:${servicePorts.lndRest}?macaroon=${mac}`
      const qr = await qrDataUrl(uri)
      return {
        ...base,
        ...(qr ? { qr } : { unavailable: 'The connection is too long for a QR code.' }),
      }
    },
  }

  return {
    name: 'reach',
    start: async () => {},
    stop: async () => {},
    handlers,
  }
}
