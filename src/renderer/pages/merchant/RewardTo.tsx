// Who a sale's reward goes to: nobody named (the claim QR on the receipt), one of the shop's
// Flash Cards, or a customer's Nostr key (npub) for eCash by private message. The cards are read
// only when the owner picks "A Flash Card". A retry may also turn a reward into a claim QR.
import { useState } from 'react'
import { api } from '../../api/client'
import { useQuery } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { SelectField, TextField } from '../../shell/TextField'

export type RewardToChoice = { card: string } | { npub: string } | { claim: true } | undefined

function CardPicker({ onChange }: { onChange: (card: string) => void }) {
  const cards = useQuery(() => api.boltcard.cards({}), [])
  const usable = (cards.data?.cards ?? []).filter((c) => c.state !== 'frozen')
  return (
    <>
      <SelectField
        label="Customer’s Flash Card"
        hint={cards.data && usable.length === 0 && 'The shop has no Flash Card yet.'}
        defaultValue=""
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="" disabled>
          {cards.loading ? 'Reading the cards…' : 'Pick a card'}
        </option>
        {usable.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </SelectField>
      {cards.error && <ErrorBox error={cards.error} />}
    </>
  )
}

export function RewardToPicker({
  label,
  onChange,
  retry = false,
}: {
  label: string
  onChange: (to: RewardToChoice) => void
  /** For a retry: the first choice keeps the reward's own way, and a claim QR can be chosen. */
  retry?: boolean
}) {
  const [kind, setKind] = useState<'' | 'card' | 'npub' | 'claim'>('')
  const [npub, setNpub] = useState('')
  return (
    <div>
      <SelectField
        label={label}
        value={kind}
        onChange={(e) => {
          const k = e.target.value as '' | 'card' | 'npub' | 'claim'
          setKind(k)
          onChange(k === 'claim' ? { claim: true } : undefined)
        }}
      >
        <option value="">
          {retry ? 'The same way as before' : 'Nobody named (claim QR on the receipt)'}
        </option>
        {retry && <option value="claim">A claim QR</option>}
        <option value="card">A Flash Card (top-up)</option>
        <option value="npub">A Nostr key (eCash by private message)</option>
      </SelectField>
      {kind === 'card' && <CardPicker onChange={(card) => onChange(card ? { card } : undefined)} />}
      {kind === 'npub' && (
        <TextField
          label="Customer’s npub"
          value={npub}
          placeholder="npub1…"
          onChange={(e) => {
            const v = e.target.value.trim()
            setNpub(v)
            onChange(v ? { npub: v } : undefined)
          }}
        />
      )}
    </div>
  )
}
