// Whether Tor reached the Tor network, read from its log ("Bootstrapped N% (tag): summary", and
// "Problem bootstrapping. Stuck at N% …" with the reason). Onion addresses exist without this,
// but nobody can reach them until Tor has bootstrapped.
import { FlashError } from '../errors'

export interface TorBootstrap {
  readonly percent: number
  readonly summary: string
  /** Tor's reason when it reported being stuck (e.g. "No route to host"). */
  readonly problem?: string
}

const PROGRESS = /Bootstrapped (\d{1,3})%(?: \(([^)]*)\))?: (.*)$/
const STUCK = /Problem bootstrapping\. Stuck at (\d{1,3})%(?: \(([^)]*)\))?: (.*?)\. \(([^;)]*)/

export function readTorBootstrap(log: string): TorBootstrap {
  let state: TorBootstrap = { percent: 0, summary: 'Starting' }
  for (const line of log.split('\n')) {
    const stuck = STUCK.exec(line)
    if (stuck) {
      state = { percent: Number(stuck[1]), summary: stuck[3]!, problem: stuck[4]!.trim() }
      continue
    }
    const m = PROGRESS.exec(line)
    if (m) state = { percent: Number(m[1]), summary: m[3]!.trim() }
  }
  return state
}

/**
 * A plain error when Tor could not reach the Tor network; undefined when it did (or may yet).
 * Tor reports some failures ("Problem bootstrapping"); with no network at all it just stays at 0%
 * (tor 0.4.9 on a machine with only loopback), so no progress after `patienceMs` counts too.
 */
export function torBootstrapProblem(
  log: string,
  runningForMs: number,
  patienceMs = 120_000,
): FlashError | undefined {
  const b = readTorBootstrap(log)
  if (b.percent >= 100) return undefined
  if (!b.problem && runningForMs < patienceMs) return undefined
  return new FlashError(
    'tor.offline',
    `Tor cannot reach the Tor network (stuck at ${b.percent}%${b.problem ? `: ${b.problem}` : ''}), so your onion addresses do not work yet.`,
    'Check that this computer is online and that no firewall blocks outgoing connections. The onion addresses stay the same; they start working once Tor connects.',
  )
}
