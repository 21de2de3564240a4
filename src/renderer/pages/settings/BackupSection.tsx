// Settings → Backup: what can be backed up today (each feature's own export) and, plainly, what
// cannot yet: there is no whole-box backup, so the owner is told which folders to copy by hand.
import { api } from '../../api/client'
import { useQuery } from '../../api/hooks'
import { hrefFor } from '../../router'
import { sectionHeadingId } from './sections'

export function BackupSection() {
  const diag = useQuery(() => api.system.diagnostics({}), [])
  const id = sectionHeadingId('backup')
  return (
    <section aria-labelledby={id} className="settings-section">
      <h2 id={id}>Backup</h2>
      <p>Today each part of the box has its own export:</p>
      <ul aria-label="Backups you can make now">
        <li>
          <a href={hrefFor('/ecash')}>eCash → Backup</a>: the recovery words of your eCash wallet.
        </li>
        <li>
          <a href={hrefFor('/relay')}>Relay → Backup</a>: a copy of the relay’s database.
        </li>
        <li>
          <a href={hrefFor('/messages')}>Messages → Back up your key</a>: your Nostr key, encrypted
          with a passphrase.
        </li>
      </ul>
      <p className="notice tone-warn">
        A backup of the whole box is not built yet. Nothing above covers the stack’s secrets file
        (the Lightning wallet password and the service passwords), the Lightning wallet and its
        channels, the mint’s keys and database, or the settings. Until it is built, stop Flash Box
        and copy these folders to a drive you keep safe:
      </p>
      {diag.data && (
        <ul aria-label="Folders to copy">
          <li>
            <code>{diag.data.engineDataDir}</code> (Flash Box’s own folder)
          </li>
          {diag.data.stackDataDir && diag.data.stackDataDir !== diag.data.engineDataDir && (
            <li>
              <code>{diag.data.stackDataDir}</code> (the services’ data folder)
            </li>
          )}
        </ul>
      )}
    </section>
  )
}
