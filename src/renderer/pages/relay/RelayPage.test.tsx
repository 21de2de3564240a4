import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { nip19 } from 'nostr-tools'
import { setTransport } from '../../api/client'
import { FakeTransportForTests, userError } from '../../test/fake-transport'
import {
  RelayPolicySchema,
  type RelayLists,
  type RelayPolicy,
  type RelayStatus,
} from '../../../shared/api/relay'
import RelayPage, { toHexPubkey } from './RelayPage'

afterEach(cleanup)

const pk = 'b'.repeat(64)
const status = (extra: Partial<RelayStatus> = {}): RelayStatus => ({
  running: true,
  url: 'ws://127.0.0.1:7777',
  connections: 3,
  subscriptions: 5,
  eventsStored: 12345,
  storageBytes: 4_200_000,
  policies: RelayPolicySchema.parse({}),
  adminPubkeys: [],
  supportedNips: [1, 11],
  ...extra,
})
const emptyLists: RelayLists = {
  allowedPubkeys: [],
  bannedPubkeys: [],
  bannedEvents: [],
  blockedIps: [],
  allowedKinds: [],
  disallowedKinds: [],
}

function setup(extra: Record<string, (i: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'relay.status': () => status(),
    'relay.lists': () => emptyLists,
    'relay.rejections': () => [
      {
        at: '2026-01-01T10:00:00.000Z',
        what: 'event',
        reason: 'rate-limited: slow down: too many events from this key',
        ip: '127.0.0.1',
        pubkey: pk,
        kind: 1,
      },
    ],
    'relay.setPolicies': (i) => (i as { policies: RelayPolicy }).policies,
    'relay.editList': (i) => ({
      ...emptyLists,
      allowedPubkeys: [{ value: (i as { value: string }).value, reason: 'staff', addedAt: '' }],
    }),
    ...extra,
  })
  setTransport(fake)
  render(<RelayPage params={{}} />)
  return fake
}

describe('relay page', () => {
  it('shows connections, events stored, storage used and refusals with their reasons', async () => {
    const fake = setup()
    expect(await screen.findByText('12,345')).toBeTruthy()
    expect(screen.getByText('4.2 MB')).toBeTruthy()
    expect(screen.getByText('ws://127.0.0.1:7777')).toBeTruthy()
    const table = await screen.findByRole('table', { name: 'Recently refused' })
    expect(within(table).getByText(/^Too much at once: the relay asked to slow down/)).toBeTruthy()
    // Live: a new refusal and a new status arrive as events.
    act(() => {
      fake.emit({
        topic: 'relay',
        type: 'rejection',
        rejection: {
          at: '2026-01-01T10:01:00.000Z',
          what: 'req',
          reason: 'auth-required: sign in (NIP-42) to read from this relay',
          ip: '10.0.0.2',
        },
      })
      fake.emit({ topic: 'relay', type: 'status', status: status({ eventsStored: 99999 }) })
    })
    // The relay's machine prefix never reaches the screen: the refusal is said in plain words.
    expect(within(table).getByText(/^The relay wants the app to sign in first/)).toBeTruthy()
    expect(table.textContent).not.toMatch(/auth-required:|rate-limited:/)
    expect(screen.getByText('99,999')).toBeTruthy()
  })

  it('saves edited rules, validated before sending', async () => {
    const fake = setup()
    const writes = (await screen.findByLabelText('Who may publish')) as HTMLSelectElement
    fireEvent.change(writes, { target: { value: 'allow-list' } })
    fireEvent.change(screen.getByLabelText('Only these kinds of events (empty = all)'), {
      target: { value: '1, 7, banana' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Save rules' }))
    const alert = await screen.findByRole('alert')
    // Was: "kinds → allowed → 2: Invalid input: expected number, received NaN".
    expect(alert.textContent).toContain(
      'Entry 3 of “Only these kinds of events” is not a number. Type digits only, separated by commas',
    )
    expect(alert.textContent).not.toMatch(/→|Invalid input|NaN/)
    expect(fake.callsTo('relay.setPolicies')).toEqual([])
    fireEvent.change(screen.getByLabelText('Only these kinds of events (empty = all)'), {
      target: { value: '1, 7' },
    })
    fireEvent.change(
      screen.getByLabelText('Forget events older than (days; empty = keep forever)'),
      { target: { value: '90' } },
    )
    fireEvent.click(screen.getByRole('button', { name: 'Save rules' }))
    await screen.findByRole('button', { name: 'Save rules' })
    await act(async () => {})
    const sent = fake.callsTo('relay.setPolicies') as { policies: RelayPolicy }[]
    expect(sent).toHaveLength(1)
    expect(sent[0]!.policies.writes).toBe('allow-list')
    expect(sent[0]!.policies.kinds.allowed).toEqual([1, 7])
    expect(sent[0]!.policies.retention).toEqual([{ maxAgeDays: 90 }])
  })

  it('adds a key to the allow-list from an npub and refuses something that is not a key', async () => {
    const fake = setup()
    const group = await screen.findByRole('group', { name: 'Allowed' })
    const input = within(group).getByLabelText('Allow a key (npub or hex)')
    fireEvent.change(input, { target: { value: 'hello' } })
    fireEvent.click(within(group).getByRole('button', { name: 'Allow' }))
    expect(await within(group).findByText(/That is not a Nostr key/)).toBeTruthy()
    fireEvent.change(input, { target: { value: nip19.npubEncode(pk) } })
    fireEvent.click(within(group).getByRole('button', { name: 'Allow' }))
    expect(await within(group).findByText('— staff')).toBeTruthy()
    expect(fake.callsTo('relay.editList')).toEqual([
      { list: 'allowed-pubkey', action: 'add', value: pk, reason: '' },
    ])
  })

  it('explains a relay that cannot start', async () => {
    setup({
      'relay.status': () =>
        status({
          running: false,
          url: undefined,
          problem: {
            code: 'relay.port_taken',
            message: 'The relay could not start: port 7777 is already used by another program.',
            hint: 'Close the other program, or choose another relay port, then start the relay again.',
          },
        }),
      'relay.lists': () => {
        throw userError('relay.port_taken', 'The relay is not running.', 'Start it.')
      },
    })
    expect(await screen.findByText(/port 7777 is already used/)).toBeTruthy()
    expect(screen.getByText('Stopped')).toBeTruthy()
  })

  it('turns npub or hex into hex', () => {
    expect(toHexPubkey(nip19.npubEncode(pk))).toBe(pk)
    expect(toHexPubkey(pk.toUpperCase())).toBe(pk)
    expect(toHexPubkey('npub1nope')).toBeUndefined()
  })
})
