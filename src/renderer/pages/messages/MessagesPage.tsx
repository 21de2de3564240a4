// Messages: private conversations (NIP-17) and staff groups (NIP-29) with unread counts, a thread
// with per-relay delivery, compose, key setup (create / import / unlock) and the business
// profile. The window never holds the secret key: the engine signs everything.
import { useState, type FormEvent } from 'react'
import { explainRelayReason } from '../../../shared/api/relay-reasons'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import {
  EXPORT_KEY_CONFIRMATION,
  type ConversationSummary,
  type Identity,
  type Message,
  type RelayDelivery,
  type RelayInfo,
} from '../../../shared/api/nostr'
import type { PageProps } from '../types'
import { ProfileEditor } from './ProfileEditor'
import { TabList, tabPanelProps } from '../../shell/TabList'
import { TextAreaField, TextField } from '../../shell/TextField'

const deliveryTone: Record<RelayDelivery['status'], 'ok' | 'warn' | 'bad' | 'busy'> = {
  ok: 'ok',
  pending: 'busy',
  timeout: 'warn',
  rejected: 'bad',
  failed: 'bad',
}
const deliveryLabel: Record<RelayDelivery['status'], string> = {
  ok: 'delivered',
  pending: 'sending…',
  timeout: 'no answer',
  rejected: 'refused',
  failed: 'not sent',
}

export default function MessagesPage(_props: PageProps) {
  const identity = useQuery(() => api.nostr.identity({}), [])
  useEvent('nostr', (e) => {
    if (e.type === 'identity') identity.setData(e.identity)
  })

  return (
    <div className="page">
      <h1>Messages</h1>
      <p className="muted">
        Private messages and staff groups over Nostr. Messages are encrypted end to end; your key
        stays on this box.
      </p>
      {identity.error && <ErrorBox error={identity.error} />}
      {!identity.data && !identity.error && <Spinner label="Loading…" />}
      {identity.data && identity.data.state !== 'unlocked' && (
        <KeySetup identity={identity.data} onDone={(i) => identity.setData(i)} />
      )}
      {identity.data?.state === 'unlocked' && (
        <Inbox identity={identity.data} onLocked={(i) => identity.setData(i)} />
      )}
    </div>
  )
}

function KeySetup({ identity, onDone }: { identity: Identity; onDone: (i: Identity) => void }) {
  const [passphrase, setPassphrase] = useState('')
  const [secret, setSecret] = useState('')
  const [mode, setMode] = useState<'create' | 'import'>('create')
  const [words, setWords] = useState<string | undefined>()
  const unlock = useMutation((p: string) => api.nostr.unlock({ passphrase: p }))
  const create = useMutation((p: string) => api.nostr.createKey({ passphrase: p }))
  const importKey = useMutation((i: { passphrase: string; secret: string }) =>
    api.nostr.importKey(i),
  )

  if (words) {
    return (
      <section aria-labelledby="nostr-words">
        <h2 id="nostr-words">Write down your recovery words</h2>
        <p>{words}</p>
        <button type="button" onClick={() => setWords(undefined)}>
          I have written them down
        </button>
      </section>
    )
  }

  if (identity.state === 'locked') {
    const submit = async (e: FormEvent) => {
      e.preventDefault()
      const out = await unlock.run(passphrase)
      setPassphrase('')
      if (out) onDone(out)
    }
    return (
      <section aria-labelledby="nostr-unlock">
        <h2 id="nostr-unlock">Unlock your messages</h2>
        <p className="muted">Key {identity.npub}</p>
        <form onSubmit={submit}>
          <TextField
            id="msg-passphrase"
            label="Passphrase"
            type="password"
            autoComplete="current-password"
            value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)}
          />
          <button type="submit" disabled={unlock.pending || !passphrase}>
            Unlock
          </button>
        </form>
        {unlock.error && <ErrorBox error={unlock.error} />}
      </section>
    )
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (mode === 'create') {
      const out = await create.run(passphrase)
      if (out) {
        if (out.recoveryWords) setWords(out.recoveryWords)
        onDone(out.identity)
      }
    } else {
      const out = await importKey.run({ passphrase, secret })
      if (out) onDone(out)
    }
    setPassphrase('')
    setSecret('')
  }
  const error = mode === 'create' ? create.error : importKey.error
  return (
    <section aria-labelledby="nostr-setup">
      <h2 id="nostr-setup">Set up your Nostr key</h2>
      <div role="radiogroup" aria-label="How to set up">
        <label>
          <input
            type="radio"
            checked={mode === 'create'}
            onChange={() => setMode('create')}
            name="nostr-mode"
          />
          Create a new key
        </label>
        <label>
          <input
            type="radio"
            checked={mode === 'import'}
            onChange={() => setMode('import')}
            name="nostr-mode"
          />
          Use a key I already have
        </label>
      </div>
      <form onSubmit={submit}>
        {mode === 'import' && (
          <TextField
            id="msg-your-key-nsec1-ncryptsec1-or-recovery-wo"
            label="Your key (nsec1…, ncryptsec1… or recovery words)"
            type="password"
            autoComplete="off"
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        )}
        <TextField
          id="msg-new-passphrase-at-least-8-characters-to-"
          label="New passphrase (at least 8 characters) to protect the key on this box"
          type="password"
          autoComplete="new-password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
        />
        <button
          type="submit"
          disabled={
            create.pending ||
            importKey.pending ||
            passphrase.length < 8 ||
            (mode === 'import' && !secret)
          }
        >
          {mode === 'create' ? 'Create key' : 'Import key'}
        </button>
      </form>
      {error && <ErrorBox error={error} />}
    </section>
  )
}

type MessagesTab = 'messages' | 'relays' | 'profile'
const messageTabs: { id: MessagesTab; label: string }[] = [
  { id: 'messages', label: 'Conversations' },
  { id: 'relays', label: 'Relays' },
  { id: 'profile', label: 'Profile and key' },
]

function Inbox({ identity, onLocked }: { identity: Identity; onLocked: (i: Identity) => void }) {
  const conversations = useQuery(() => api.nostr.conversations({}), [])
  const [selected, setSelected] = useState<string | undefined>()
  const [tab, setTab] = useState<MessagesTab>('messages')
  const lock = useMutation(() => api.nostr.lock({}))
  useEvent('nostr', (e) => {
    if (e.type === 'message' || e.type === 'conversations') conversations.refresh()
  })
  const current = conversations.data?.find((c) => c.id === selected)

  return (
    <>
      <p className="muted">
        You are <code>{identity.npub}</code>{' '}
        <button
          type="button"
          onClick={async () => {
            const i = await lock.run(undefined)
            if (i) onLocked(i)
          }}
        >
          Lock
        </button>
      </p>
      <TabList
        label="Messages sections"
        idPrefix="messages"
        tabs={messageTabs}
        selected={tab}
        onSelect={setTab}
      />
      <div {...tabPanelProps('messages', tab)} className="tabpanel">
        {tab === 'messages' && (
          <div className="split">
            <section aria-labelledby="nostr-conversations">
              <h2 id="nostr-conversations">Conversations</h2>
              {conversations.error && <ErrorBox error={conversations.error} />}
              {conversations.data && conversations.data.length === 0 && (
                <p className="muted">No conversations yet.</p>
              )}
              <ul aria-label="Conversations">
                {conversations.data?.map((c) => (
                  <li key={c.id}>
                    <button
                      type="button"
                      aria-current={c.id === selected}
                      onClick={() => setSelected(c.id)}
                    >
                      {c.kind === 'group' ? '# ' : ''}
                      {c.title}
                      {c.unread > 0 && (
                        <>
                          {' '}
                          <Badge tone="warn">{`${c.unread} unread`}</Badge>
                        </>
                      )}
                    </button>
                  </li>
                ))}
              </ul>
              <NewConversation
                onOpened={(id) => {
                  conversations.refresh()
                  setSelected(id)
                }}
              />
            </section>
            {current && (
              <Thread
                key={current.id}
                conversation={current}
                onRead={() => conversations.refresh()}
              />
            )}
          </div>
        )}
        {tab === 'relays' && <Relays />}
        {tab === 'profile' && (
          <>
            <ProfileEditor />
            <ExportKey />
          </>
        )}
      </div>
    </>
  )
}

function NewConversation({ onOpened }: { onOpened: (id: string) => void }) {
  const [to, setTo] = useState('')
  const [text, setText] = useState('')
  const [groupName, setGroupName] = useState('')
  const [joinRef, setJoinRef] = useState('')
  const [joinCode, setJoinCode] = useState('')
  const send = useMutation((i: { to: string; text: string }) => api.nostr.sendDirectMessage(i))
  const create = useMutation((name: string) => api.nostr.createGroup({ name }))
  const join = useMutation((i: { reference: string; code?: string }) => api.nostr.joinGroup(i))
  return (
    <>
      <form
        aria-label="New private message"
        onSubmit={async (e) => {
          e.preventDefault()
          const out = await send.run({ to, text })
          if (out) {
            setTo('')
            setText('')
            onOpened(out.conversationId)
          }
        }}
      >
        <h3>New private message</h3>
        <TextField
          id="msg-to-npub-nprofile-or-name-domain"
          label="To (npub, nprofile or name@domain)"
          value={to}
          onChange={(e) => setTo(e.target.value)}
        />
        <TextAreaField
          id="msg-message"
          label="Message"
          rows={4}
          placeholder="Write your message here"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={send.pending || !to || !text.trim()}>
          Send
        </button>
        {send.error && <ErrorBox error={send.error} />}
      </form>
      <form
        aria-label="New group"
        onSubmit={async (e) => {
          e.preventDefault()
          const out = await create.run(groupName)
          if (out) {
            setGroupName('')
            onOpened(out.id)
          }
        }}
      >
        <h3>New staff group</h3>
        <TextField
          id="msg-group-name"
          label="Group name"
          value={groupName}
          onChange={(e) => setGroupName(e.target.value)}
        />
        <button type="submit" disabled={create.pending || !groupName.trim()}>
          Create group
        </button>
        {create.error && <ErrorBox error={create.error} />}
      </form>
      <form
        aria-label="Join a group"
        onSubmit={async (e) => {
          e.preventDefault()
          const out = await join.run({
            reference: joinRef,
            ...(joinCode ? { code: joinCode } : {}),
          })
          if (out) {
            setJoinRef('')
            setJoinCode('')
            onOpened(out.id)
          }
        }}
      >
        <h3>Join a group</h3>
        <TextField
          id="msg-group-address-relay-example-com-group-id"
          label="Group address (relay.example.com'group-id)"
          value={joinRef}
          onChange={(e) => setJoinRef(e.target.value)}
        />
        <TextField
          id="msg-invite-code"
          label="Invite code"
          value={joinCode}
          onChange={(e) => setJoinCode(e.target.value)}
        />
        <button type="submit" disabled={join.pending || !joinRef.trim()}>
          Join
        </button>
        {join.error && <ErrorBox error={join.error} />}
      </form>
    </>
  )
}

function DeliveryLine({ delivery }: { delivery: readonly RelayDelivery[] }) {
  if (!delivery.length) return null
  return (
    <ul className="delivery" aria-label="Delivery">
      {delivery.map((d) => (
        <li key={d.relay}>
          <Badge tone={deliveryTone[d.status]}>{deliveryLabel[d.status]}</Badge> {d.relay}
          {d.status === 'rejected'
            ? ` — ${explainRelayReason(d.message ?? '', d.prefix)}`
            : d.status !== 'ok' && d.message
              ? ` — ${d.message}`
              : ''}
        </li>
      ))}
    </ul>
  )
}

function Thread({
  conversation,
  onRead,
}: {
  conversation: ConversationSummary
  onRead: () => void
}) {
  const messages = useQuery(async () => {
    const list = await api.nostr.messages({ conversationId: conversation.id })
    if (conversation.unread > 0) {
      await api.nostr.markRead({ conversationId: conversation.id })
      onRead()
    }
    return list
  }, [conversation.id])
  const [text, setText] = useState('')
  const isGroup = conversation.kind === 'group'
  const send = useMutation((t: string) =>
    isGroup
      ? api.nostr.postToGroup({ conversationId: conversation.id, text: t })
      : api.nostr.sendDirectMessage({ to: conversation.id, text: t }),
  )
  useEvent('nostr', (e) => {
    if (e.type === 'message' && e.message.conversationId === conversation.id) {
      messages.setData((prev) =>
        prev?.some((m) => m.id === e.message.id) ? prev : [...(prev ?? []), e.message],
      )
    }
    if (e.type === 'delivery' && e.conversationId === conversation.id) {
      messages.setData((prev) =>
        prev?.map((m: Message) => (m.id === e.messageId ? { ...m, delivery: e.delivery } : m)),
      )
    }
  })

  return (
    <section aria-labelledby="nostr-thread">
      <h2 id="nostr-thread">{conversation.title}</h2>
      {isGroup && conversation.group && (
        <GroupTools conversation={conversation} reference={conversation.group.reference} />
      )}
      {messages.error && <ErrorBox error={messages.error} />}
      {!messages.data && !messages.error && <Spinner label="Loading messages…" />}
      <ol aria-label="Messages" className="thread">
        {messages.data?.map((m) => (
          <li key={m.id} className={m.fromMe ? 'from-me' : 'from-them'}>
            <strong>
              {m.fromMe ? 'You' : (m.author.name ?? `${m.author.npub.slice(0, 12)}…`)}
            </strong>{' '}
            <time dateTime={m.createdAt}>{new Date(m.createdAt).toLocaleString()}</time>
            {m.legacy && (
              <>
                {' '}
                <Badge tone="warn">legacy, less private</Badge>
              </>
            )}
            <p>{m.text}</p>
            {m.fromMe && <DeliveryLine delivery={m.delivery} />}
          </li>
        ))}
      </ol>
      <form
        aria-label="Reply"
        onSubmit={async (e) => {
          e.preventDefault()
          const out = await send.run(text)
          if (out) {
            setText('')
            messages.refresh()
          }
        }}
      >
        <TextAreaField
          id="msg-message-2"
          label="Message"
          rows={4}
          placeholder="Write your message here"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={send.pending || !text.trim()}>
          Send
        </button>
      </form>
      {send.error && <ErrorBox error={send.error} />}
    </section>
  )
}

function GroupTools({
  conversation,
  reference,
}: {
  conversation: ConversationSummary
  reference: string
}) {
  const [member, setMember] = useState('')
  const [code, setCode] = useState<string | undefined>()
  const invite = useMutation((pubkey?: string) =>
    api.nostr.inviteToGroup({ conversationId: conversation.id, ...(pubkey ? { pubkey } : {}) }),
  )
  const remove = useMutation((pubkey: string) =>
    api.nostr.moderateGroup({ action: 'remove-user', conversationId: conversation.id, pubkey }),
  )
  return (
    <div className="group-tools">
      <p className="muted">
        Group address: <code>{reference}</code>
      </p>
      <button
        type="button"
        onClick={async () => {
          const out = await invite.run(undefined)
          if (out?.code) setCode(out.code)
        }}
      >
        Create invite code
      </button>
      {code && (
        <p>
          Invite code: <code>{code}</code>
        </p>
      )}
      <TextField
        id="msg-person-npub"
        label="Person (npub)"
        value={member}
        onChange={(e) => setMember(e.target.value)}
      />
      <button type="button" disabled={!member} onClick={() => void invite.run(member)}>
        Add to group
      </button>
      <button type="button" disabled={!member} onClick={() => void remove.run(member)}>
        Remove from group
      </button>
      {invite.error && <ErrorBox error={invite.error} />}
      {remove.error && <ErrorBox error={remove.error} />}
    </div>
  )
}

function Relays() {
  const relays = useQuery(() => api.nostr.relays({}), [])
  const [url, setUrl] = useState('')
  const add = useMutation((u: string) => api.nostr.addRelay({ url: u }))
  const remove = useMutation((u: string) => api.nostr.removeRelay({ url: u }))
  useEvent('nostr', (e) => {
    if (e.type === 'relay-health') {
      relays.setData((prev) =>
        prev?.map((r: RelayInfo) => (r.url === e.health.url ? { ...r, health: e.health } : r)),
      )
    }
  })
  return (
    <section aria-labelledby="nostr-relays">
      <h2 id="nostr-relays">Relays</h2>
      {relays.error && <ErrorBox error={relays.error} />}
      <table aria-label="Relays">
        <thead>
          <tr>
            <th scope="col">Relay</th>
            <th scope="col">State</th>
            <th scope="col">Latency</th>
            <th scope="col">Signed in</th>
            <th scope="col">Last problem</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {relays.data?.map((r) => (
            <tr key={r.url}>
              <td>
                {r.url} {r.role === 'box' && <Badge tone="off">this box</Badge>}{' '}
                {!r.announced && <Badge tone="off">not announced</Badge>}
              </td>
              <td>
                <Badge tone={r.health.connected ? 'ok' : 'bad'}>
                  {r.health.connected ? 'connected' : 'disconnected'}
                </Badge>
              </td>
              <td>{r.health.latencyMs !== undefined ? `${r.health.latencyMs} ms` : '—'}</td>
              <td>{r.health.auth === 'authenticated' ? 'yes' : r.health.auth}</td>
              <td>{r.health.lastError ?? ''}</td>
              <td>
                {r.role === 'user' && (
                  <button
                    type="button"
                    onClick={async () => {
                      const out = await remove.run(r.url)
                      if (out) relays.setData([...out])
                    }}
                  >
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {relays.data?.some((r) => !r.announced) && (
        <p className="muted">
          {relays.data.some((r) => r.announced)
            ? 'Relays marked “not announced” only work on this computer or network, so they are left out of the inbox list other Nostr apps see; people send you private messages through the other relays.'
            : 'None of these relays is announced to other Nostr apps: they only work on this computer or network. Until the box has a public address, add a public relay (wss://…) so other people can send you private messages.'}
        </p>
      )}
      <form
        aria-label="Add a relay"
        onSubmit={async (e) => {
          e.preventDefault()
          const out = await add.run(url)
          if (out) {
            relays.setData([...out])
            setUrl('')
          }
        }}
      >
        <TextField
          id="msg-relay-address-wss"
          label="Relay address (wss://…)"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
        <button type="submit" disabled={add.pending || !url}>
          Add relay
        </button>
      </form>
      {(add.error ?? remove.error) && <ErrorBox error={(add.error ?? remove.error)!} />}
    </section>
  )
}

function ExportKey() {
  const [passphrase, setPassphrase] = useState('')
  const [confirm, setConfirm] = useState('')
  const [nsec, setNsec] = useState<string | undefined>()
  const exportKey = useMutation(
    (i: { passphrase: string; confirm: typeof EXPORT_KEY_CONFIRMATION }) => api.nostr.exportKey(i),
  )
  return (
    <section aria-labelledby="nostr-export">
      <h2 id="nostr-export">Back up your key</h2>
      <p className="notice tone-warn">
        Anyone who has this key can read your private messages and act as your business. Keep it
        offline. To continue, type: <q>{EXPORT_KEY_CONFIRMATION}</q>
      </p>
      {nsec ? (
        <>
          <p>
            <code>{nsec}</code>
          </p>
          <button type="button" onClick={() => setNsec(undefined)}>
            Hide the key
          </button>
        </>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            if (confirm !== EXPORT_KEY_CONFIRMATION) return
            const out = await exportKey.run({ passphrase, confirm })
            setPassphrase('')
            setConfirm('')
            if (out) setNsec(out.nsec)
          }}
        >
          <TextField
            id="msg-confirmation"
            label="Confirmation"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
          />
          <TextField
            id="msg-passphrase-2"
            label="Passphrase"
            type="password"
            value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)}
          />
          <button
            type="submit"
            disabled={exportKey.pending || confirm !== EXPORT_KEY_CONFIRMATION || !passphrase}
          >
            Show my key
          </button>
        </form>
      )}
      {exportKey.error && <ErrorBox error={exportKey.error} />}
    </section>
  )
}
