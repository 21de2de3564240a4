// Flash Cards (issue 12 item 3): NFC cards (Boltcards) that pay over LNURL-withdraw from a BTCPay
// pull payment. Issue a card with a balance and limits, program it on the computer's NFC reader
// or with the Boltcard NFC Programmer app, see each card's balance and last use, top up, change
// limits, freeze, reset. Mounted by the Merchant page as its "Flash Cards" tab.
import { useState } from 'react'
import type { FlashCardView, ProgrammingLink } from '../../../shared/api/boltcard'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'

const sat = (n: number) => `${n.toLocaleString('en')} sat`
const stateWords = {
  issued: 'not programmed yet',
  programmed: 'active',
  frozen: 'frozen',
  reset: 'wiped (blank)',
} as const

export default function FlashCards() {
  const cards = useQuery(() => api.boltcard.cards({}), [])
  useEvent('boltcard', () => cards.refresh())
  const v = cards.data
  return (
    <section aria-labelledby="flash-cards">
      <h2 id="flash-cards">Flash Cards</h2>
      <p className="muted">
        A Flash Card is an NFC card (Boltcard, NTAG 424 DNA) a customer taps on the shop’s terminal
        to pay. Its money is a pull payment in your BTCPay store; the box checks every tap (a copied
        card or a replayed tap is refused) and pays from your Lightning.
      </p>
      {cards.error && <ErrorBox error={cards.error} />}
      {!v && !cards.error && <Spinner label="Loading the cards…" />}
      {v && !v.tapUrl && (
        <p role="status">
          Taps need the box’s public address (Settings → Reachability): the terminal reaches the box
          there. Cards can be issued, but not programmed, until it is set.
        </p>
      )}
      {v && <IssueForm onIssued={cards.refresh} />}
      {v && v.cards.length === 0 && <p className="muted">No cards yet.</p>}
      {v && v.cards.length > 0 && (
        <ul aria-label="Cards">
          {v.cards.map((c) => (
            <CardRow key={c.id} card={c} onChange={cards.refresh} />
          ))}
        </ul>
      )}
    </section>
  )
}

function IssueForm({ onIssued }: { onIssued: () => void }) {
  const [name, setName] = useState('')
  const [amount, setAmount] = useState('')
  const [perTap, setPerTap] = useState('20000')
  const [perDay, setPerDay] = useState('50000')
  const issue = useMutation(api.boltcard.issue)
  const ok = name.trim() && [amount, perTap, perDay].every((x) => /^\d+$/.test(x) && Number(x) > 0)
  return (
    <form
      aria-label="Issue a card"
      onSubmit={async (e) => {
        e.preventDefault()
        const r = await issue.run({
          name: name.trim(),
          amountSat: Number(amount),
          perTapSat: Number(perTap),
          perDaySat: Number(perDay),
        })
        if (r) {
          setName('')
          setAmount('')
          onIssued()
        }
      }}
    >
      <h3>Issue a card</h3>
      <div className="field">
        <label htmlFor="fc-name">Customer or card name</label>
        <input id="fc-name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="fc-amount">Balance (sat)</label>
        <input
          id="fc-amount"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="fc-tap">At most per tap (sat)</label>
        <input
          id="fc-tap"
          inputMode="numeric"
          value={perTap}
          onChange={(e) => setPerTap(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="fc-day">At most per day (sat)</label>
        <input
          id="fc-day"
          inputMode="numeric"
          value={perDay}
          onChange={(e) => setPerDay(e.target.value)}
        />
      </div>
      <button type="submit" disabled={!ok || issue.pending}>
        Issue card
      </button>
      {issue.error && <ErrorBox error={issue.error} />}
    </form>
  )
}

function CardRow({ card, onChange }: { card: FlashCardView; onChange: () => void }) {
  const program = useMutation(api.boltcard.program)
  const reset = useMutation(api.boltcard.reset)
  const confirmReset = useMutation(api.boltcard.confirmReset)
  const link = useMutation(api.boltcard.programmingLink)
  const topUp = useMutation(api.boltcard.topUp)
  const limits = useMutation(api.boltcard.setLimits)
  const freeze = useMutation(api.boltcard.freeze)
  // The app's link, while the card is in the state it was made for (once the app used it, the
  // card changes state and the spent QR goes away).
  const [appLink, setShown] = useState<ProgrammingLink & { action: string; forState: string }>()
  // (A reset link, once used, leaves the card programmed with its reset pending.)
  const shown = appLink?.forState === card.state && !card.resetPendingSince ? appLink : undefined
  const [more, setMore] = useState('')
  const [perTap, setPerTap] = useState(String(card.perTapSat))
  const [perDay, setPerDay] = useState(String(card.perDaySat))
  const [confirmFreeze, setConfirmFreeze] = useState(false)
  const errors = [program, reset, confirmReset, link, topUp, limits, freeze]
    .map((m) => m.error)
    .filter((e) => e)
  const pending = card.resetPendingSince
  const done = (r: unknown) => {
    if (r) onChange()
  }
  return (
    <li aria-label={`Card ${card.name}`}>
      <strong>{card.name}</strong> · {pending ? 'reset pending' : stateWords[card.state]} · balance{' '}
      {card.balanceSat === null ? 'unknown (BTCPay did not answer)' : sat(card.balanceSat)} ·{' '}
      {sat(card.perTapSat)} per tap, {sat(card.perDaySat)} per day ({sat(card.spentTodaySat)} today)
      · last used {card.lastUsedAt ? new Date(card.lastUsedAt).toLocaleString() : 'never'}
      {card.lastDeclined && <div className="muted">Last refused tap: {card.lastDeclined}</div>}
      {card.btcpayUntold && (
        <div role="status">
          Payment sent, BTCPay not yet told: {card.btcpayUntold.taps}{' '}
          {card.btcpayUntold.taps === 1 ? 'tap' : 'taps'} ({sat(card.btcpayUntold.sat)}) went out,
          but BTCPay has not taken the payout as paid: {card.btcpayUntold.reason} The box tells
          BTCPay again every 15 seconds and never pays these taps twice.
        </div>
      )}
      {pending && (
        <div role="group" aria-label="Reset pending">
          <p>
            The Boltcard app took this card’s keys to wipe it at{' '}
            {new Date(pending).toLocaleString()}. The box cannot see the app finish, so the card
            counts as programmed until the reset is confirmed: hold the card on this computer’s NFC
            reader (it must answer with the factory keys), or confirm that the app said the card was
            reset. A tap with the card meanwhile shows the reset did not happen.
          </p>
          <button
            type="button"
            disabled={confirmReset.pending}
            onClick={async () => done(await confirmReset.run({ id: card.id, how: 'reader' }))}
          >
            {confirmReset.pending
              ? 'Hold the card on the reader…'
              : 'Check on this computer’s NFC reader'}
          </button>
          <button
            type="button"
            disabled={confirmReset.pending}
            onClick={async () => done(await confirmReset.run({ id: card.id, how: 'owner' }))}
          >
            The app said the card is reset
          </button>
        </div>
      )}
      <div>
        {(card.state === 'issued' || card.state === 'reset') && (
          <>
            <button
              type="button"
              disabled={program.pending}
              onClick={async () => done(await program.run({ id: card.id }))}
            >
              {program.pending
                ? 'Hold the blank card on the reader…'
                : 'Program on this computer’s NFC reader'}
            </button>
            <button
              type="button"
              onClick={async () => {
                const r = await link.run({ id: card.id, action: 'program' })
                if (r) setShown({ ...r, action: 'program', forState: card.state })
              }}
            >
              Program with the Boltcard app
            </button>
          </>
        )}
        {card.state !== 'issued' && card.state !== 'reset' && !pending && (
          <>
            <button
              type="button"
              disabled={reset.pending}
              onClick={async () => done(await reset.run({ id: card.id }))}
            >
              {reset.pending
                ? 'Hold the card on the reader…'
                : 'Reset on this computer’s NFC reader'}
            </button>
            <button
              type="button"
              onClick={async () => {
                const r = await link.run({ id: card.id, action: 'reset' })
                if (r) setShown({ ...r, action: 'reset', forState: card.state })
              }}
            >
              Reset with the Boltcard app
            </button>
          </>
        )}
      </div>
      {shown && (
        <div role="group" aria-label="Boltcard app link">
          <p>
            Scan with the Boltcard NFC Programmer app (
            {shown.action === 'program' ? 'Create Bolt Card' : 'Reset'}), then tap the card on the
            phone. The link works once, until {new Date(shown.expiresAt).toLocaleTimeString()}.
          </p>
          {shown.qr && <img src={shown.qr} alt="Boltcard app link QR" width={200} height={200} />}
          <p>
            <a href={shown.deepLink}>Open in the Boltcard app</a>
          </p>
        </div>
      )}
      {card.state !== 'frozen' && (
        <>
          <form
            aria-label="Top up"
            onSubmit={async (e) => {
              e.preventDefault()
              const r = await topUp.run({ id: card.id, amountSat: Number(more) })
              if (r) setMore('')
              done(r)
            }}
          >
            <label htmlFor={`fc-more-${card.id}`}>Top up (sat)</label>{' '}
            <input
              id={`fc-more-${card.id}`}
              inputMode="numeric"
              value={more}
              onChange={(e) => setMore(e.target.value)}
            />
            <button
              type="submit"
              disabled={!/^\d+$/.test(more) || Number(more) < 1 || topUp.pending}
            >
              Top up
            </button>
          </form>
          <form
            aria-label="Limits"
            onSubmit={async (e) => {
              e.preventDefault()
              done(
                await limits.run({
                  id: card.id,
                  perTapSat: Number(perTap),
                  perDaySat: Number(perDay),
                }),
              )
            }}
          >
            <label htmlFor={`fc-tap-${card.id}`}>Per tap</label>{' '}
            <input
              id={`fc-tap-${card.id}`}
              inputMode="numeric"
              value={perTap}
              onChange={(e) => setPerTap(e.target.value)}
            />{' '}
            <label htmlFor={`fc-day-${card.id}`}>Per day</label>{' '}
            <input
              id={`fc-day-${card.id}`}
              inputMode="numeric"
              value={perDay}
              onChange={(e) => setPerDay(e.target.value)}
            />
            <button type="submit" disabled={limits.pending}>
              Set limits
            </button>
          </form>
          {!confirmFreeze ? (
            <button type="button" onClick={() => setConfirmFreeze(true)}>
              Freeze…
            </button>
          ) : (
            <p>
              Freezing closes the card’s balance in BTCPay: the card pays nothing more, and this
              cannot be undone (issue a new card to go on).{' '}
              <button
                type="button"
                onClick={async () => {
                  setConfirmFreeze(false)
                  done(await freeze.run({ id: card.id }))
                }}
              >
                Freeze the card
              </button>{' '}
              <button type="button" onClick={() => setConfirmFreeze(false)}>
                Keep it
              </button>
            </p>
          )}
        </>
      )}
      {errors.map((e, i) => (
        <ErrorBox key={i} error={e!} />
      ))}
    </li>
  )
}
