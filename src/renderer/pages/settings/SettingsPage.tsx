// Settings: what the box runs with (Your stack, Services), its images, backups, the HSM, diagnostics, and
// this device's preferences. `#/settings/<section>` opens the page at that section, so a hint
// that says "Settings → Images" can link straight to it.
import { useEffect } from 'react'
import { api } from '../../api/client'
import { useQuery } from '../../api/hooks'
import { formatNumber } from '../../format'
import { ErrorBox, Spinner } from '../../shell/common'
import type { PageProps } from '../types'
import { BackupSection } from './BackupSection'
import { DesktopPreferences } from './DesktopPreferences'
import { DiagnosticsSection } from './DiagnosticsSection'
import { HsmSection } from './HsmSection'
import { ImagesSection } from './ImagesSection'
import { ReachSection } from './ReachSection'
import { sectionHeadingId, settingsSections } from './sections'
import { StackSettingsForm } from './StackSettingsForm'

export default function SettingsPage({ params }: PageProps) {
  const settings = useQuery(() => api.stack.getSettings({}), [])
  const catalog = useQuery(() => api.stack.catalog({}), [])
  const section = settingsSections.find((s) => s.slug === params.section)?.slug
  const ready = Boolean(settings.data && catalog.data)
  useEffect(() => {
    if (!section || !ready) return
    const heading = document.getElementById(sectionHeadingId(section))
    heading?.scrollIntoView?.({ block: 'start' })
  }, [section, ready])
  return (
    <div className="page">
      <h1>Settings</h1>
      <nav aria-label="Settings sections" className="section-nav">
        {settingsSections.map((s) => (
          <a
            key={s.slug}
            href={`#/settings/${s.slug}`}
            aria-current={s.slug === section ? 'location' : undefined}
          >
            {s.title}
          </a>
        ))}
      </nav>
      <section aria-labelledby={sectionHeadingId('stack')} className="settings-section">
        <h2 id={sectionHeadingId('stack')}>Your stack</h2>
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
      <ReachSection />
      <ImagesSection />
      <BackupSection />
      <HsmSection />
      <DiagnosticsSection />
      {typeof window !== 'undefined' && window.flashbox && <DesktopPreferences />}
    </div>
  )
}
