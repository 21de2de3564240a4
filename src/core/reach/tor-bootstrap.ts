// Whether Tor reached the Tor network, from what tor itself says (src/core/reach/tor-control.ts).
// Onion addresses exist without this, but nobody can reach them until Tor has bootstrapped.
import type { TorView } from '../../shared/api/reach'
import { FlashError, toUserError } from '../errors'
import { TorControlError, type TorBootstrapPhase } from './tor-control'

/** How long tor may take to reach 100% before the owner hears it is offline (of tor's uptime). */
export const TOR_BOOTSTRAP_PATIENCE_MS = 120_000

/**
 * A plain error when Tor could not reach the Tor network; undefined when it did (or may yet).
 * Tor reports some failures itself (a bootstrap problem it recommends warning about); with no
 * network at all it just stays at 0% (tor 0.4.9 with only loopback), so no 100% after
 * `patienceMs` of tor's own uptime counts too.
 */
export function torBootstrapProblem(
  phase: TorBootstrapPhase,
  patienceMs = TOR_BOOTSTRAP_PATIENCE_MS,
): FlashError | undefined {
  if (phase.progress >= 100) return undefined
  const warned = phase.warning !== undefined && phase.recommendation === 'warn'
  if (!warned && phase.uptimeSeconds * 1000 < patienceMs) return undefined
  const why = phase.warning ? `: ${phase.warning}` : ''
  return new FlashError(
    'tor.offline',
    `Tor cannot reach the Tor network (stuck at ${phase.progress}%${why} after ${minutes(phase.uptimeSeconds)}), so your onion addresses do not work yet.`,
    'Check that this computer is online and that no firewall blocks outgoing connections. The onion addresses stay the same; they start working once Tor connects.',
  )
}

function minutes(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} seconds`
  return `${Math.round(seconds / 60)} minutes`
}

/** The owner's view of tor now (Settings → Reachability, the pairing cards). */
export function torView(
  phase: TorBootstrapPhase | TorControlError,
  patienceMs = TOR_BOOTSTRAP_PATIENCE_MS,
): TorView {
  if (phase instanceof TorControlError)
    return phase.notRunning
      ? {
          state: 'not-running',
          words:
            'No word from Tor yet: its progress shows here once the stack has started with Tor on (Dashboard → Start everything).',
        }
      : {
          state: 'unknown',
          words: 'Tor is running but did not say how far it got; this page asks again on reload.',
        }
  if (phase.progress >= 100) return { state: 'connected', percent: 100, words: 'Tor: connected' }
  const problem = torBootstrapProblem(phase, patienceMs)
  return {
    state: problem ? 'offline' : 'connecting',
    percent: phase.progress,
    words: `Tor: connecting ${phase.progress}%${phase.summary ? ` (${phase.summary.toLowerCase()})` : ''}`,
    ...(problem ? { problem: toUserError(problem) } : {}),
  }
}
