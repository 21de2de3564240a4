// The business's public profile (Nostr kind 0): name, about, picture, website, NIP-05 address
// and lightning address, published to every relay with a result per relay.
import { useState } from 'react'
import { api } from '../../api/client'
import { useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import type { Profile, RelayDelivery } from '../../../shared/api/nostr'

const fields: { key: keyof Profile; label: string; help?: string }[] = [
  { key: 'name', label: 'Business name' },
  { key: 'about', label: 'About', help: 'What you sell, opening hours, where to find you.' },
  { key: 'picture', label: 'Logo (https:// address of an image)' },
  { key: 'website', label: 'Website' },
  { key: 'nip05', label: 'Nostr address (name@your-domain)' },
  { key: 'lud16', label: 'Lightning address (name@your-domain)' },
]

export function ProfileEditor() {
  const profile = useQuery(() => api.nostr.getProfile({}), [])
  if (profile.error) return <ErrorBox error={profile.error} />
  if (!profile.data) return <Spinner label="Loading the profile…" />
  return <ProfileForm key={profile.data.updatedAt ?? 'new'} initial={profile.data.profile} />
}

function ProfileForm({ initial }: { initial: Profile }) {
  const [draft, setDraft] = useState<Profile>(initial)
  const [delivery, setDelivery] = useState<readonly RelayDelivery[] | undefined>()
  const save = useMutation((p: Profile) => api.nostr.setProfile(p))
  return (
    <section aria-labelledby="nostr-profile">
      <h2 id="nostr-profile">Business profile</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const clean = Object.fromEntries(
            Object.entries(draft).filter(([, v]) => typeof v === 'string' && v.trim() !== ''),
          ) as Profile
          const out = await save.run(clean)
          if (out) setDelivery(out.delivery)
        }}
      >
        {fields.map((f) => (
          <label key={f.key}>
            {f.label}
            {f.key === 'about' ? (
              <textarea
                value={draft[f.key] ?? ''}
                onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })}
              />
            ) : (
              <input
                value={draft[f.key] ?? ''}
                onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })}
              />
            )}
            {f.help && <small className="muted">{f.help}</small>}
          </label>
        ))}
        <button type="submit" disabled={save.pending}>
          Publish profile
        </button>
      </form>
      {save.error && <ErrorBox error={save.error} />}
      {delivery && (
        <ul aria-label="Profile delivery">
          {delivery.map((d) => (
            <li key={d.relay}>
              <Badge tone={d.status === 'ok' ? 'ok' : 'bad'}>
                {d.status === 'ok' ? 'published' : d.status}
              </Badge>{' '}
              {d.relay}
              {d.status !== 'ok' && d.message ? ` — ${d.message}` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
