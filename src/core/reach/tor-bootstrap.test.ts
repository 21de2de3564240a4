import { describe, expect, it } from 'vitest'
import { readTorBootstrap, torBootstrapProblem } from './tor-bootstrap'

// Lines as tor 0.4.9 logs them.
const offline = [
  'Dec 05 06:37:35.000 [notice] Bootstrapped 0% (starting): Starting',
  'Dec 05 06:37:36.000 [notice] Bootstrapped 5% (conn): Connecting to a relay',
  'Dec 05 06:37:36.000 [warn] Problem bootstrapping. Stuck at 5% (conn): Connecting to a relay. (Network is unreachable; NOROUTE; count 1; recommendation warn; host 0000 at 1.2.3.4:443)',
].join('\n')

describe('tor bootstrap', () => {
  it('reads progress and the reason it is stuck', () => {
    expect(readTorBootstrap(offline)).toEqual({
      percent: 5,
      summary: 'Connecting to a relay',
      problem: 'Network is unreachable',
    })
    expect(readTorBootstrap('[notice] Bootstrapped 100% (done): Done').percent).toBe(100)
  })

  it('says plainly when Tor cannot reach the network', () => {
    const p = torBootstrapProblem(offline, 5_000)
    expect(p?.code).toBe('tor.offline')
    expect(p?.message).toContain('Network is unreachable')
    expect(torBootstrapProblem('[notice] Bootstrapped 100% (done): Done', 5_000)).toBeUndefined()
    // Still starting, no complaint yet.
    expect(
      torBootstrapProblem('[notice] Bootstrapped 10% (conn_done): Connected', 5_000),
    ).toBeUndefined()
    expect(
      torBootstrapProblem('[notice] Bootstrapped 10% (conn_done): Connected', 300_000)?.code,
    ).toBe('tor.offline')
  })
})
