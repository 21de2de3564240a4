// The on-chain wallet (issue 11): set up a seed (or watch a key), then per account: receive with a
// BIP21 QR, history with search and CSV, coins with freezing, send (the send side's panels). Live:
// the engine pushes `wallet` events (a deposit from the mempool, a confirmation, a reorg), and
// every reorg or refused proof is shown as a notice until the page is left.
import { useState } from 'react'
import type { PageProps } from '../types'
import type { WalletStatus } from '../../../shared/api/wallet'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { CoinsPanel, HistoryPanel, ReceivePanel } from './WalletPanels'
import { SendPanel } from './SendPanel'
import { PendingSends } from './PendingSends'
import { PsbtImport } from './PsbtPanel'
import { LightningMovesPanel } from './LightningMovesPanel'
import { TabList, tabPanelProps } from '../../shell/TabList'
import { SelectField, TextAreaField, TextField } from '../../shell/TextField'

const connectionWords: Record<WalletStatus['connection'], string> = {
  disabled: 'Electrum server not in the stack',
  connecting: 'connecting to the Electrum server…',
  indexing: 'the Electrum server is still building its index',
  syncing: 'syncing…',
  ready: 'up to date',
  offline: 'Electrum server unreachable',
}

type Tab = 'receive' | 'history' | 'coins' | 'send' | 'lightning'
const walletTabs: { id: Tab; label: string }[] = [
  { id: 'receive', label: 'Receive' },
  { id: 'history', label: 'History' },
  { id: 'coins', label: 'Coins' },
  { id: 'send', label: 'Send' },
  { id: 'lightning', label: 'Lightning' },
]

export default function WalletPage(_props: PageProps) {
  const status = useQuery(() => api.wallet.status({}), [])
  const [accountId, setAccountId] = useState<string>()
  const [tab, setTab] = useState<Tab>('receive')
  useEvent('wallet', (e) => {
    if (e.type === 'status') status.setData(e.status)
    else status.refresh()
  })
  const s = status.data
  const account = s?.accounts.find((a) => a.id === accountId) ?? s?.accounts[0]
  return (
    <div className="page">
      <h1>Wallet</h1>
      {status.error && <ErrorBox error={status.error} />}
      {s && (
        <p className="muted" role="status">
          Bitcoin wallet: {connectionWords[s.connection]}
          {s.tipHeight !== undefined ? ` · block ${s.tipHeight}` : ''}
        </p>
      )}
      {s?.problem && <ErrorBox error={s.problem} />}
      {s && s.notices.length > 0 && (
        <section aria-labelledby="wallet-notices" className="notice">
          <h2 id="wallet-notices">Needs your attention</h2>
          <ul>
            {s.notices.map((n) => (
              <li key={`${n.at}-${n.txid}`}>{n.message}</li>
            ))}
          </ul>
        </section>
      )}
      {s && !s.seed.stored && <SetupPanel onDone={status.refresh} />}
      {s && account && (
        <>
          <SelectField
            id="wallet-account"
            label="Account"
            value={account.id}
            onChange={(e) => setAccountId(e.target.value)}
          >
            {s.accounts.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.kind === 'wpkh' ? 'SegWit' : 'Taproot'}
                {a.source === 'watch-only' ? ', watch-only' : ''})
              </option>
            ))}
          </SelectField>
          <p>
            Balance: <strong>{sats(account.balance.confirmedSat)}</strong>
            {account.balance.unconfirmedSat !== 0 &&
              ` · ${sats(account.balance.unconfirmedSat)} waiting for confirmation`}
            {account.balance.frozenSat > 0 && ` · ${sats(account.balance.frozenSat)} frozen`}
          </p>
          <TabList
            label="Wallet"
            idPrefix="wallet"
            tabs={walletTabs}
            selected={tab}
            onSelect={setTab}
          />
          <div {...tabPanelProps('wallet', tab)} className="tabpanel">
            {tab === 'receive' && <ReceivePanel accountId={account.id} />}
            {tab === 'history' && <HistoryPanel accountId={account.id} />}
            {tab === 'coins' && <CoinsPanel accountId={account.id} />}
            {tab === 'send' && <SendTab accountId={account.id} />}
            {tab === 'lightning' && (
              <LightningMovesPanel client={api.wallet} accountId={account.id} />
            )}
          </div>
        </>
      )}
      {s && <WatchOnlyPanel onDone={status.refresh} />}
    </div>
  )
}

function SendTab({ accountId }: { accountId: string }) {
  const coins = useQuery(() => api.wallet.coins({ accountId }), [accountId])
  return (
    <>
      <SendPanel client={api.wallet} accountId={accountId} coins={coins.data ?? []} />
      <PsbtImport client={api.wallet} accountId={accountId} />
      <PendingSends client={api.wallet} accountId={accountId} />
    </>
  )
}

function SetupPanel({ onDone }: { onDone: () => void }) {
  const [password, setPassword] = useState('')
  const [words, setWords] = useState('')
  const create = useMutation((p: { password: string; mnemonic?: string }) =>
    p.mnemonic
      ? api.wallet.restoreSeed({ password: p.password, mnemonic: p.mnemonic })
      : api.wallet.createSeed({ password: p.password }),
  )
  return (
    <section aria-labelledby="wallet-setup">
      <h2 id="wallet-setup">Create your Bitcoin wallet</h2>
      <p>
        The box makes a recovery phrase and keeps it encrypted under your owner password. Leave the
        words empty to make a new one, or type yours to restore.
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const r = await create.run({ password, ...(words.trim() ? { mnemonic: words } : {}) })
          if (r) onDone()
        }}
      >
        <TextField
          id="wallet-setup-password"
          label="Owner password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <TextAreaField
          id="wallet-setup-words"
          label="Recovery words (to restore; optional)"
          value={words}
          onChange={(e) => setWords(e.target.value)}
        />
        <button type="submit" disabled={!password || create.pending}>
          {words.trim() ? 'Restore wallet' : 'Create wallet'}
        </button>
      </form>
      {create.error && <ErrorBox error={create.error} />}
    </section>
  )
}

function WatchOnlyPanel({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('')
  const [source, setSource] = useState('')
  const add = useMutation((p: { name: string; source: string }) => api.wallet.importWatchOnly(p))
  return (
    <details>
      <summary>Watch a wallet whose keys this box does not hold</summary>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (await add.run({ name, source })) {
            setName('')
            setSource('')
            onDone()
          }
        }}
      >
        <TextField
          id="watch-name"
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <TextAreaField
          id="watch-source"
          label="xpub, zpub or descriptor"
          value={source}
          onChange={(e) => setSource(e.target.value)}
        />
        <button type="submit" disabled={!name.trim() || !source.trim() || add.pending}>
          Watch
        </button>
      </form>
      {add.error && <ErrorBox error={add.error} />}
    </details>
  )
}
