// The reach domain as an engine module (Settings → Reachability): the owner's choice of public
// address, LAN front door and Tor (saved in Settings.reach; the stack renders Caddy and Tor from
// it on its next start), the onion addresses, the address self-check and the pairing QR codes.
import { existsSync, readFileSync } from 'node:fs'
import type {
  AddressCheckResult,
  LanView,
  PairingTarget,
  ReachStatus,
  TorView,
  reachApi,
} from '../../shared/api/reach'
import type { HandlersOf } from '../../shared/api/procedure'
import type { Alert, StackStatus } from '../../shared/api/stack'
import type { UserError } from '../../shared/errors'
import type { Lan, ReachSettings } from '../../shared/reach'
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
import { frontDoorEnabled } from '../stack/caddy'
import { stackPaths } from '../stack/paths'
import { servicePorts } from '../stack/networks'
import { torHostControlFiles, torServicesFor } from '../stack/tor'
import { torView } from './tor-bootstrap'
import { readTorBootstrapPhase, TorControlError } from './tor-control'
import { checkPublicAddress } from './address-check'
import { toUserError } from '../errors'
import { caFileFingerprint, lanCertificateFiles } from './box-ca'
import { devicePairingFor } from './device-pairing'
import { checkLanPortFree, lanAddress, lanInterfaces } from './lan'
import { announceLanName, type MdnsAnnouncer } from './mdns'
import { storedOnionHostnames } from './onion-store'
import { publishedUrlsFor, type PublishedUrls } from './published-urls'

export function reachModule(opts: ReachModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createReachModule(ctx, opts)
}

function onionHostnames(settings: Settings): Map<string, { hostname: string; purpose: string }> {
  const out = new Map<string, { hostname: string; purpose: string }>()
  if (!settings.reach?.tor) return out
  // The addresses are stored beside the sealed keys (public); made on the stack's next start.
  const hostnames = storedOnionHostnames(settings.dataDir)
  for (const s of torServicesFor({ settings })) {
    const hostname = hostnames[s.name]
    if (hostname) out.set(s.name, { hostname, purpose: s.purpose })
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
  const torPath = {
    path: 'Tor (an app with Tor turned on; works from anywhere)',
    sameWifi: false,
    overTor: true as const,
  }
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

/** The three LAN ports, named as Settings → Reachability labels them; a plain error when two are the same. */
function lanPortsDistinct(lan: Lan): void {
  const named: [string, number][] = [
    ['shop port', lan.port],
    ['owner’s pages port', lan.ownerPort],
    ['certificate page port', lan.caPort],
  ]
  for (let i = 0; i < named.length; i++)
    for (let j = i + 1; j < named.length; j++)
      if (named[i]![1] === named[j]![1])
        throw new FlashError(
          'reach.lan_ports_clash',
          `The ${named[i]![0]} and the ${named[j]![0]} are both ${named[i]![1]}, but the shop page, the owner’s pages and the certificate page each need a port of their own.`,
          'Choose three different ports under Settings → Reachability.',
        )
}

/** Whether the engine's HTTP server answers where the front door's owner site leads. */
async function engineAnswers(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/health`, {
      signal: AbortSignal.timeout(1_500),
    })
    return r.ok && ((await r.json()) as { ok?: unknown }).ok === true
  } catch {
    return false
  }
}

/**
 * A plain error when nothing answers on the engine's port: the owner's pages on the LAN lead
 * there (the desktop app starts that server when LAN mode is saved; `npm run serve` listens on
 * its --port). Asked twice, a moment apart, so a server starting right after a save counts.
 */
async function engineServerProblem(port: number): Promise<FlashError | undefined> {
  if (await engineAnswers(port)) return undefined
  await new Promise((r) => setTimeout(r, 400))
  if (await engineAnswers(port)) return undefined
  return new FlashError(
    'reach.owner_pages_not_served',
    `The owner’s pages on the shop’s network lead to port ${port} on this computer, but Flash Box does not answer there, so your devices cannot open them.`,
    `Another program may hold port ${port}: stop it, and Flash Box takes the port within a minute. (Running Flash Box with “npm run serve”? Start it with --port ${port}.)`,
  )
}

export interface ReachModuleOptions {
  /** mDNS UDP port (5353; tests use another). */
  readonly mdnsPort?: number
  /** How long tor may take to reach 100% before it counts as offline (tests use less). */
  readonly torPatienceMs?: number
  /** How often Tor's progress is read in the background while Tor is on (default 15 s). */
  readonly torWatchMs?: number
}

/** Background reading of Tor's progress while Tor is on: bounded, one conversation at a time. */
export const TOR_WATCH_MS = 15_000

export function createReachModule(
  ctx: EngineContext,
  opts: ReachModuleOptions = {},
): EngineModule<typeof reachApi> {
  const log = ctx.log.child('reach')
  const pairing = devicePairingFor(ctx.dataDir)
  const settings = (): Settings | null => {
    try {
      return loadSettings(ctx.dataDir)
    } catch {
      return null
    }
  }

  // What needs the owner's attention from this domain, kept until its cause clears, also while
  // Settings → Reachability is closed: the dashboard lists them (EngineModule.alerts). One per id;
  // a new event only when one appears or its code changes (Tor's minutes tick on quietly).
  const notices = new Map<string, { code: string; alert: Alert }>()
  const dismissed = new Set<string>()
  const notice = (id: string, title: string, problem: UserError | undefined): void => {
    const prev = notices.get(id)
    if (!problem) {
      dismissed.delete(id)
      if (!prev) return
      notices.delete(id)
      ctx.events.publish({ topic: 'stack', type: 'alert-cleared', id })
      return
    }
    const alert: Alert = {
      id,
      severity: 'warning',
      title,
      message: problem.message,
      hint: problem.hint,
      at: prev?.code === problem.code ? prev.alert.at : new Date().toISOString(),
    }
    notices.set(id, { code: problem.code, alert })
    if (prev?.code === problem.code) return
    dismissed.delete(id)
    ctx.events.publish({ topic: 'stack', type: 'alert', alert })
  }

  // The desktop app's engine HTTP server for the front door (src/core/api/http/front-door-upstream.ts)
  // says when it cannot open its port, and when it can again.
  let engineServerTold: UserError | undefined
  const unsubscribeEngineServer = ctx.events.subscribe(
    (e) => {
      if (e.topic !== 'reach' || e.type !== 'engine-server') return
      engineServerTold = e.problem
      notice('reach:engine-server', 'The front door cannot reach Flash Box', e.problem)
    },
    ['reach'],
  )

  // `<name>.local` over mDNS while LAN mode is on, on the picked interface's address.
  let announcer: { key: string; mdns: MdnsAnnouncer } | null = null
  let announceProblem: FlashError | undefined
  const announce = async (s: Settings | null): Promise<void> => {
    const lan = s?.reach?.lan
    let address: string | undefined
    announceProblem = undefined
    if (lan) {
      try {
        address = lanAddress(lan.interface)
      } catch (err) {
        announceProblem = err instanceof FlashError ? err : undefined
      }
    }
    const key = lan && address ? `${lan.name}\0${address}` : ''
    if (announcer?.key === key) return
    await announcer?.mdns.close()
    announcer = null
    if (!lan || !address) return
    try {
      announcer = {
        key,
        mdns: await announceLanName({
          name: lan.name,
          address,
          ...(opts.mdnsPort ? { port: opts.mdnsPort } : {}),
          log,
        }),
      }
    } catch (err) {
      announceProblem = new FlashError(
        'reach.mdns_failed',
        `Flash Box could not announce ${lan.name}.local on the shop’s network (${err instanceof Error ? err.message : String(err)}).`,
        'Phones can still use the address shown under Settings → Reachability. Check that no firewall blocks UDP port 5353.',
      )
    }
  }

  const lanView = async (s: Settings | null): Promise<LanView | undefined> => {
    const lan = s?.reach?.lan
    if (!s || !lan) return undefined
    const host = `${lan.name}.local`
    const port = (p: number) => (p === 443 ? '' : `:${p}`)
    let address: string | undefined
    let problem = announceProblem
    try {
      address = lanAddress(lan.interface)
    } catch (err) {
      problem = err instanceof FlashError ? err : problem
    }
    const caFingerprint = caFileFingerprint(lanCertificateFiles(s.dataDir))
    const caPageUrl = address
      ? `http://${address.includes(':') ? `[${address}]` : address}:${lan.caPort}/`
      : undefined
    const caPageQr = caPageUrl && caFingerprint ? await qrDataUrl(caPageUrl) : undefined
    const ownerDoor = await engineServerProblem(s.reach!.enginePort)
    return {
      host,
      ...(address ? { address } : {}),
      url: `https://${host}${port(lan.port)}`,
      ownerUrl: `https://${host}${port(lan.ownerPort)}`,
      ...(caPageUrl && caFingerprint ? { caPageUrl } : {}),
      ...(caPageQr ? { caPageQr } : {}),
      ...(caFingerprint ? { caFingerprint } : {}),
      announced: announcer !== null,
      pairedDevices: pairing.count(),
      ...(ownerDoor ? { ownerDoorProblem: toUserError(ownerDoor) } : {}),
      ...(problem
        ? { problem: toUserError(problem) }
        : !caFingerprint
          ? {
              problem: {
                code: 'reach.lan_not_ready',
                message: 'The shop network’s certificate is made when the stack starts.',
                hint: 'Start the stack (Dashboard) while logged in with the owner password.',
              },
            }
          : {}),
    }
  }

  // Tor's own word (one short control-socket conversation), on each status and every
  // `torWatchMs` in the background while Tor is on: the owner hears of tor.offline on the
  // dashboard even with Settings → Reachability closed, and here and on every pairing card that
  // leads over Tor.
  let torLogged = ''
  const torNow = async (s: Settings | null): Promise<TorView | undefined> => {
    if (!s?.reach?.tor) return undefined
    const phase = await readTorBootstrapPhase(torHostControlFiles(s.dataDir)).catch((err) => {
      if (err instanceof TorControlError) return err
      throw err
    })
    const view = torView(phase, opts.torPatienceMs)
    if (view.state !== torLogged) {
      torLogged = view.state
      if (view.problem) log.warn(`tor: ${view.problem.message}`)
      else log.info(view.words)
    }
    // No tor running (the stack stopped) has nothing to say about the Tor network: the notice
    // goes; a tor that did not answer keeps what it said last.
    if (view.state !== 'unknown') notice('reach:tor', 'Tor is not connected', view.problem)
    return view
  }

  let torWatch: ReturnType<typeof setInterval> | undefined
  let torReading = false
  const readTorInBackground = async (): Promise<void> => {
    if (torReading) return
    torReading = true
    try {
      await torNow(settings())
    } catch (err) {
      log.warn(`tor: could not read its progress (${err instanceof Error ? err.message : err})`)
    } finally {
      torReading = false
    }
  }
  /** Watch while Tor is on in the settings; stop (and clear its notice) when it is off. */
  const followTor = (s: Settings | null): void => {
    if (s?.reach?.tor) {
      if (torWatch) return
      torWatch = setInterval(() => void readTorInBackground(), opts.torWatchMs ?? TOR_WATCH_MS)
      torWatch.unref()
      void readTorInBackground()
      return
    }
    clearInterval(torWatch)
    torWatch = undefined
    torLogged = ''
    notice('reach:tor', 'Tor is not connected', undefined)
  }

  // The front door's own state is the stack's (the supervisor starts Caddy and names a port
  // another program holds): shown here too, where the owner chose those ports.
  const frontDoorProblem = async (): Promise<UserError | undefined> => {
    const stack = ctx.modules.get('stack')?.handlers as
      { status?: (i: object, c: RequestContext) => Promise<StackStatus> } | undefined
    const st = await stack?.status?.({}, { transport: 'internal' }).catch(() => undefined)
    return st?.services.find((x) => x.id === 'caddy')?.problem
  }

  const status = async (): Promise<ReachStatus> => {
    const s = settings()
    const doorProblem = s && frontDoorEnabled(s) ? await frontDoorProblem() : undefined
    const p = publishedUrlsFor(s?.reach)
    const onions = s ? onionHostnames(s) : new Map()
    const lan = await lanView(s)
    const code = pairing.pending()
    const tor = await torNow(s)
    return {
      settings: s?.reach ?? null,
      ...(tor ? { tor } : {}),
      ...(p
        ? {
            published: {
              base: p.base,
              source: p.source,
              mint: p.mint,
              relay: p.relay,
              ...(p.nip05Domain ? { nip05Domain: p.nip05Domain } : {}),
              ...(p.namesProblem ? { namesProblem: toUserError(p.namesProblem) } : {}),
              btcpay: p.btcpay,
            },
          }
        : {}),
      ...(engineServerTold ? { engineServerProblem: engineServerTold } : {}),
      ...(doorProblem ? { frontDoorProblem: doorProblem } : {}),
      interfaces: lanInterfaces(),
      onions: [...onions].map(([name, o]) => ({ name, hostname: o.hostname, purpose: o.purpose })),
      pairing: await pairingTargets(s),
      ...(lan ? { lan } : {}),
      ...(code ? { pairingCode: code } : {}),
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
        lanPortsDistinct(reach.lan)
        const address = lanAddress(reach.lan.interface)
        const same = s.reach?.lan && JSON.stringify(s.reach.lan) === JSON.stringify(reach.lan)
        // The running front door holds its own ports; check only ports it does not hold yet.
        if (!same)
          for (const port of [reach.lan.port, reach.lan.ownerPort, reach.lan.caPort])
            await checkLanPortFree(address, port)
      }
      saveSettingsFile(ctx.dataDir, { ...s, reach })
      ctx.events.publish({ topic: 'reach', type: 'saved' })
      followTor(settings())
      await announce(settings())
      return status()
    },
    newPairingCode: async () => {
      if (!settings()?.reach?.lan)
        throw new FlashError(
          'reach.lan_off',
          'Pairing codes are for the owner’s page on the shop’s network, and LAN mode is off.',
          'Turn on LAN mode under Settings → Reachability first.',
        )
      return pairing.issue()
    },
    forgetDevices: async () => {
      pairing.forgetAll()
      log.info('every paired device was forgotten')
      return status()
    },
    checkAddress: async (): Promise<AddressCheckResult> => {
      // The public address only: LAN mode's name resolves over mDNS on the shop's devices.
      const published = publishedUrlsFor(settings()?.reach)
      const base = published?.source === 'public' ? published.base : undefined
      if (!base)
        return {
          ok: false,
          problem: {
            code: 'reach.no_address',
            message: 'There is no public address to check yet.',
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
        overTor: true,
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
    start: async () => {
      followTor(settings())
      await announce(settings())
    },
    stop: async () => {
      clearInterval(torWatch)
      torWatch = undefined
      unsubscribeEngineServer()
      await announcer?.mdns.close()
      announcer = null
    },
    handlers,
    alerts: () => [...notices].filter(([id]) => !dismissed.has(id)).map(([, n]) => n.alert),
    dismissAlert: (id) => {
      if (notices.has(id)) dismissed.add(id)
    },
  }
}
