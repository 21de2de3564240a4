// What the box runs with, and this device's preferences (theme; desktop: login item, quit).
import { api } from '../../api/client'
import { useQuery } from '../../api/hooks'
import { formatNumber } from '../../format'
import { ErrorBox, Spinner } from '../../shell/common'
import type { PageProps } from '../types'
import { DesktopPreferences } from './DesktopPreferences'
import { StackSettingsForm } from './StackSettingsForm'

export default function SettingsPage(_props: PageProps) {
  const settings = useQuery(() => api.stack.getSettings({}), [])
  const catalog = useQuery(() => api.stack.catalog({}), [])
  return (
    <div className="page">
      <h1>Settings</h1>
      <section aria-labelledby="stack-settings">
        <h2 id="stack-settings">Your stack</h2>
        {settings.error && <ErrorBox error={settings.error} />}
        {!settings.data && !settings.error && <Spinner label="Loading settings…" />}
        {settings.data && (
          <dl className="facts">
            <dt>Network</dt>
            <dd>{settings.data.network}</dd>
            <dt>Data folder</dt>
            <dd>
              <code>{settings.data.dataDir}</code>
            </dd>
            <dt>Pruning</dt>
            <dd>
              {settings.data.prune.enabled
                ? `Keep about ${formatNumber(settings.data.prune.targetMiB)} MiB of blocks`
                : 'Off (keeps the whole chain)'}
            </dd>
            <dt>Services</dt>
            <dd>
              {Object.entries(settings.data.services)
                .filter(([, on]) => on)
                .map(([id]) => catalog.data?.find((c) => c.id === id)?.displayName ?? id)
                .join(', ') || 'Bitcoin only'}
            </dd>
          </dl>
        )}
      </section>
      {settings.data && catalog.data && (
        <StackSettingsForm
          saved={settings.data}
          catalog={catalog.data}
          onSaved={(s) => settings.setData(s)}
        />
      )}
      {typeof window !== 'undefined' && window.flashbox && <DesktopPreferences />}
    </div>
  )
}
