import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { setTransport } from '../../api/client'
import { FakeTransportForTests, userError } from '../../test/fake-transport'
import {
  EXPORT_KEY_CONFIRMATION,
  type ConversationSummary,
  type Identity,
  type Message,
} from '../../../shared/api/nostr'
import MessagesPage from './MessagesPage'

afterEach(cleanup)

const me = 'a'.repeat(64)
const them = 'b'.repeat(64)
const unlocked: Identity = { state: 'unlocked', pubkey: me, npub: 'npub1me', keySecurity: 'secure' }
const conv: ConversationSummary = {
  id: `dm:${them}`,
  kind: 'dm',
  title: 'Corner Bakery',
  peers: [{ pubkey: them, npub: 'npub1them', name: 'Corner Bakery' }],
  unread: 2,
  lastMessage: { text: 'hi', at: '2026-01-01T10:00:00.000Z', fromMe: false },
}
const msgs: Message[] = [
  {
    id: '1'.repeat(64),
    conversationId: conv.id,
    author: conv.peers[0]!,
    fromMe: false,
    text: 'Old style hello',
    createdAt: '2026-01-01T09:00:00.000Z',
    kind: 4,
    legacy: true,
    delivery: [],
  },
  {
    id: '2'.repeat(64),
    conversationId: conv.id,
    author: { pubkey: me, npub: 'npub1me' },
    fromMe: true,
    text: 'Two loaves please',
    createdAt: '2026-01-01T10:00:00.000Z',
    kind: 14,
    legacy: false,
    delivery: [
      { relay: 'ws://127.0.0.1:7777', status: 'ok' },
      { relay: 'wss://relay.example.com', status: 'rejected', prefix: 'blocked', message: 'no' },
    ],
  },
]

describe('messages page', () => {
  it('unlocks a locked key with the passphrase and shows the refusal when wrong', async () => {
    let tries = 0
    const fake = new FakeTransportForTests({
      'nostr.identity': () => ({ state: 'locked', pubkey: me, npub: 'npub1me' }),
      'nostr.unlock': () => {
        tries++
        if (tries === 1)
          throw userError(
            'nostr.wrong_passphrase',
            'That passphrase does not open this key.',
            'Check it.',
          )
        return unlocked
      },
      'nostr.conversations': () => [],
    })
    setTransport(fake)
    render(<MessagesPage params={{}} />)
    const input = await screen.findByLabelText('Passphrase')
    fireEvent.change(input, { target: { value: 'wrong one' } })
    fireEvent.click(screen.getByRole('button', { name: 'Unlock' }))
    expect(await screen.findByText('That passphrase does not open this key.')).toBeTruthy()
    fireEvent.change(input, { target: { value: 'right one' } })
    fireEvent.click(screen.getByRole('button', { name: 'Unlock' }))
    expect(await screen.findByText('No conversations yet.')).toBeTruthy()
    expect(fake.callsTo('nostr.unlock')).toEqual([
      { passphrase: 'wrong one' },
      { passphrase: 'right one' },
    ])
  })

  it('lists conversations with unread counts; a thread shows legacy marks and per-relay delivery', async () => {
    const fake = new FakeTransportForTests({
      'nostr.identity': () => unlocked,
      'nostr.conversations': () => [conv],
      'nostr.messages': () => msgs,
      'nostr.markRead': () => undefined,
      'nostr.sendDirectMessage': () => ({
        conversationId: conv.id,
        messageId: '3'.repeat(64),
        delivery: [],
      }),
    })
    setTransport(fake)
    render(<MessagesPage params={{}} />)
    const item = await screen.findByRole('button', { name: /Corner Bakery/ })
    expect(within(item).getByText('2 unread')).toBeTruthy()
    fireEvent.click(item)
    expect(await screen.findByText('Old style hello')).toBeTruthy()
    expect(screen.getByText('legacy, less private')).toBeTruthy()
    const delivery = screen.getByRole('list', { name: 'Delivery' })
    expect(within(delivery).getByText('delivered')).toBeTruthy()
    expect(within(delivery).getByText('refused')).toBeTruthy()
    expect(fake.callsTo('nostr.markRead')).toEqual([{ conversationId: conv.id }])

    // A new message arrives as an event.
    act(() => {
      fake.emit({
        topic: 'nostr',
        type: 'message',
        message: {
          ...msgs[0]!,
          id: '4'.repeat(64),
          text: 'Ready at five',
          kind: 14,
          legacy: false,
        },
      })
    })
    expect(await screen.findByText('Ready at five')).toBeTruthy()

    const reply = screen.getByRole('form', { name: 'Reply' })
    fireEvent.change(within(reply).getByLabelText('Message'), { target: { value: 'Thanks!' } })
    fireEvent.click(within(reply).getByRole('button', { name: 'Send' }))
    await screen.findByText('Ready at five')
    await act(async () => {})
    expect(fake.callsTo('nostr.sendDirectMessage')).toEqual([{ to: conv.id, text: 'Thanks!' }])
  })

  it('shows the key only after the exact confirmation sentence', async () => {
    const fake = new FakeTransportForTests({
      'nostr.identity': () => unlocked,
      'nostr.conversations': () => [],
      'nostr.getProfile': () => ({ profile: { name: 'Corner Bakery' } }),
      'nostr.exportKey': () => ({ nsec: 'nsec1exported' }),
    })
    setTransport(fake)
    render(<MessagesPage params={{}} />)
    fireEvent.click(await screen.findByRole('tab', { name: 'Profile and key' }))
    expect(await screen.findByDisplayValue('Corner Bakery')).toBeTruthy()
    const show = screen.getByRole('button', { name: 'Show my key' }) as HTMLButtonElement
    fireEvent.change(screen.getByLabelText('Confirmation'), { target: { value: 'yes' } })
    fireEvent.change(screen.getByLabelText('Passphrase'), { target: { value: 'pass phrase' } })
    expect(show.disabled).toBe(true)
    fireEvent.change(screen.getByLabelText('Confirmation'), {
      target: { value: EXPORT_KEY_CONFIRMATION },
    })
    expect(show.disabled).toBe(false)
    fireEvent.click(show)
    expect(await screen.findByText('nsec1exported')).toBeTruthy()
    expect(fake.callsTo('nostr.exportKey')).toEqual([
      { passphrase: 'pass phrase', confirm: EXPORT_KEY_CONFIRMATION },
    ])
  })

  it('marks relays that only work on this machine as not announced, and says why', async () => {
    const health = (url: string) => ({ url, connected: true, auth: 'none' as const, attempts: 0 })
    const fake = new FakeTransportForTests({
      'nostr.identity': () => unlocked,
      'nostr.conversations': () => [],
      'nostr.relays': () => [
        {
          url: 'ws://127.0.0.1:7777',
          role: 'box',
          announced: false,
          health: health('ws://127.0.0.1:7777'),
        },
        {
          url: 'wss://relay.example.com',
          role: 'user',
          announced: true,
          health: health('wss://relay.example.com'),
        },
      ],
    })
    setTransport(fake)
    render(<MessagesPage params={{}} />)
    fireEvent.click(await screen.findByRole('tab', { name: 'Relays' }))
    const table = await screen.findByRole('table', { name: 'Relays' })
    const rows = within(table).getAllByRole('row').slice(1)
    expect(within(rows[0]!).getByText('not announced')).toBeTruthy()
    expect(within(rows[1]!).queryByText('not announced')).toBeNull()
    expect(screen.getByText(/left out of the inbox list other Nostr apps see/)).toBeTruthy()
  })

  it('is laid out like the eCash page: real tabs, each field labelled on its own line, a box to write in', async () => {
    setTransport(
      new FakeTransportForTests({
        'nostr.identity': () => unlocked,
        'nostr.conversations': () => [conv],
        'nostr.messages': () => msgs,
        'nostr.markRead': () => undefined,
        'nostr.relays': () => [],
        'nostr.getProfile': () => ({ profile: {} }),
      }),
    )
    render(<MessagesPage params={{}} />)
    const tabs = await screen.findByRole('tablist', { name: 'Messages sections' })
    const conversations = within(tabs).getByRole('tab', { name: 'Conversations' })
    expect(conversations.getAttribute('aria-selected')).toBe('true')
    const panel = screen.getByRole('tabpanel')
    expect(panel.getAttribute('aria-labelledby')).toBe(conversations.id)
    // Arrow keys move between tabs, as on the eCash page.
    fireEvent.keyDown(conversations, { key: 'ArrowRight' })
    expect(within(tabs).getByRole('tab', { name: 'Relays' }).getAttribute('aria-selected')).toBe(
      'true',
    )
    fireEvent.keyDown(within(tabs).getByRole('tab', { name: 'Relays' }), { key: 'ArrowLeft' })

    // Every text field has its label on its own line (a label above, not wrapped around it).
    fireEvent.click(await screen.findByRole('button', { name: /Corner Bakery/ }))
    await screen.findByText('Two loaves please')
    const fields = [
      ...document.querySelectorAll('input:not([type=radio]):not([type=checkbox]), textarea'),
    ]
    expect(fields.length).toBeGreaterThan(4)
    for (const f of fields) {
      const label = document.querySelector(`label[for="${f.id}"]`)
      expect(label, `field ${f.id || f.outerHTML.slice(0, 60)} has a label`).not.toBeNull()
      expect(label!.contains(f)).toBe(false)
      expect(f.parentElement!.classList.contains('field')).toBe(true)
    }
    // The reply is a real box to write in.
    const reply = within(screen.getByRole('form', { name: 'Reply' })).getByLabelText('Message')
    expect(reply.tagName).toBe('TEXTAREA')
    expect(Number(reply.getAttribute('rows'))).toBeGreaterThanOrEqual(4)
  })
})
