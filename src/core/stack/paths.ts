// Every path of the stack, resolved in one place. Two roots, never mixed:
// - the stack's data folder (`settings.dataDir`, chosen in the wizard): each service's data, the
//   box's stack secrets (RPC passwords, LND's TLS certificate), LND's macaroons, and the data of
//   the box's own relay and mint — the same folders whether they run inside the app or as
//   containers, so switching keeps their keys and databases;
// - the engine's own folder: settings.json (which names the stack's data folder) and the app's
//   own state (login, Nostr identity, eCash wallet).
// Before setup saved any settings, the stack's data folder is the one the wizard suggests.
import { join } from 'node:path'
import type { MacaroonConsumer } from './macaroons'
import type { ServiceId } from './spec'

export interface StackPaths {
  /** The stack's data folder (settings.dataDir). */
  readonly root: string
  /** Host directory of one service: <root>/<service> (bind-mounted into its container). */
  service(id: ServiceId): string
  /** <root>/secrets (0700): the box's stack secrets. */
  readonly secretsDir: string
  /** <root>/secrets/stack-secrets.json: RPC passwords, LND TLS key and certificate, … */
  readonly stackSecrets: string
  /** <root>/lnd/macaroons/<consumer>/ — a directory, bind-mounted before the macaroon exists. */
  macaroonDir(consumer: MacaroonConsumer): string
  macaroon(consumer: MacaroonConsumer): string
  readonly relay: {
    readonly dir: string
    readonly db: string
    readonly key: string
    /** The operator's relay choices (policies, admin keys, port). */
    readonly config: string
  }
  readonly mint: {
    readonly dir: string
    /** The operator's mint choices (port, backend, limits, fees). */
    readonly config: string
    /** LND's certificate as the mint container reads it (public). */
    readonly lndCert: string
  }
}

export function stackPaths(dataDir: string): StackPaths {
  const service = (id: ServiceId) => join(dataDir, id)
  const secretsDir = join(dataDir, 'secrets')
  const macaroonDir = (consumer: MacaroonConsumer) => join(dataDir, 'lnd', 'macaroons', consumer)
  return {
    root: dataDir,
    service,
    secretsDir,
    stackSecrets: join(secretsDir, 'stack-secrets.json'),
    macaroonDir,
    macaroon: (consumer) => join(macaroonDir(consumer), `${consumer}.macaroon`),
    relay: {
      dir: service('relay'),
      db: join(service('relay'), 'relay.db'),
      key: join(service('relay'), 'relay.key'),
      config: join(service('relay'), 'config.json'),
    },
    mint: {
      dir: service('mint'),
      config: join(service('mint'), 'config.json'),
      lndCert: join(service('mint'), 'lnd-tls.cert'),
    },
  }
}

/** The engine's own files. */
export interface EnginePaths {
  readonly root: string
  /** settings.json: the saved settings, including the stack's data folder. */
  readonly settings: string
  /** The stack's data folder the wizard suggests (and used before setup): <engine>/stack. */
  readonly suggestedStackDir: string
}

export function enginePaths(engineDir: string): EnginePaths {
  return {
    root: engineDir,
    settings: join(engineDir, 'settings.json'),
    suggestedStackDir: join(engineDir, 'stack'),
  }
}

/** The stack's data folder for these saved settings (none yet: the suggested one). */
export function stackDataDir(engineDir: string, settings: { dataDir: string } | null): string {
  return settings?.dataDir ?? enginePaths(engineDir).suggestedStackDir
}
