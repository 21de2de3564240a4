// BitcoindRpc against answers recorded from a real Bitcoin Core v31 node
// (tests/fixtures/bitcoind-v31, README there), replayed through the client's fetch.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FlashError } from '../errors'
import { BitcoindRpc } from './bitcoind-rpc'

const FIXTURES = join(__dirname, '../../../tests/fixtures/bitcoind-v31')

interface RecordedCall {
  name: string
  status: number
  headers: Record<string, string>
  body: unknown
}

const errors = JSON.parse(readFileSync(join(FIXTURES, 'errors.json'), 'utf8')) as {
  cases: RecordedCall[]
}
const nodeState = JSON.parse(readFileSync(join(FIXTURES, 'node-state.json'), 'utf8')) as {
  states: { label: string; calls: RecordedCall[] }[]
}

function replay(call: Pick<RecordedCall, 'status' | 'headers' | 'body'>): typeof fetch {
  return async () => {
    const body =
      call.status === 204 || call.body === ''
        ? null
        : typeof call.body === 'string'
          ? call.body
          : JSON.stringify(call.body)
    return new Response(body, { status: call.status, headers: call.headers })
  }
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(FlashError)
  return err as FlashError
}

const rpcWith = (f: typeof fetch) =>
  new BitcoindRpc({ url: 'http://127.0.0.1:18443', user: 'u', password: 'p', fetch: f })

describe('BitcoindRpc, replaying a real Bitcoin Core v31', () => {
  it('says "refused the password" for the real node’s 401 on a wrong password', async () => {
    const wrong = errors.cases.find((c) => c.name === 'wrong password (attempt 1)')!
    expect(wrong.status).toBe(401)
    const err = await failure(rpcWith(replay(wrong)).getBlockCount())
    expect(err.code).toBe('bitcoind.auth')
    expect(err.message).toContain('password')
  })

  it('says the address is not allowed (rpcallowip) for a 403, not that the password was wrong', async () => {
    // The recorded node ran with the default rpcallowip (loopback), and every request came from
    // loopback, so errors.json holds no 403. Bitcoin Core's httpserver.cpp answers a peer outside
    // rpcallowip with HTTP_FORBIDDEN and an empty body, before reading any credentials; the
    // headers are those of the node's other empty-bodied error replies.
    const unauthorized = errors.cases.find((c) => c.name === 'no Authorization header')!
    const forbidden = {
      status: 403,
      headers: {
        date: unauthorized.headers.date!,
        'content-length': '0',
        'content-type': 'text/html; charset=ISO-8859-1',
      },
      body: '',
    }
    const err = await failure(rpcWith(replay(forbidden)).getBlockCount())
    expect(err.code).toBe('bitcoind.forbidden')
    expect(err.message).not.toContain('password')
    expect(err.hint).toContain('rpcallowip')
  })

  it('reads the fresh node’s getblockchaininfo (0 blocks, initial block download)', async () => {
    const fresh = nodeState.states.find((s) => s.label === 'fresh')!
    const call = fresh.calls.find((c) => c.name === 'getblockchaininfo')!
    const info = await rpcWith(replay(call)).getBlockchainInfo()
    expect(info).toMatchObject({ chain: 'regtest', blocks: 0, headers: 0 })
    expect(info.initialblockdownload).toBe(true)
  })
})
