// Settings → Images: which pinned images are on this computer, "Download again" with progress,
// and loading an offline image bundle from a folder (every image checked against its digest).
import { useState } from 'react'
import type { LayerProgress } from '../../../shared/api/stack'
import type { BundleProgress, LoadedBundleImage } from '../../../shared/api/system'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { formatBytes } from '../../format'
import { Badge, ErrorBox, Progress, Spinner } from '../../shell/common'
import { FolderPicker } from '../../shell/FolderPicker'
import { sectionHeadingId } from './sections'

const stateText = {
  present: { label: 'On this computer', tone: 'ok' },
  missing: { label: 'Not downloaded', tone: 'warn' },
  different: { label: 'Different image — refused', tone: 'bad' },
  unknown: { label: 'Unknown', tone: 'off' },
} as const

interface Pull {
  readonly current: number
  readonly total: number
  readonly done: boolean
  readonly layers: readonly LayerProgress[]
}

export function ImagesSection() {
  const images = useQuery(() => api.system.images({}), [])
  const [pulls, setPulls] = useState<Record<string, Pull>>({})
  const [bundleDir, setBundleDir] = useState('')
  const [bundleStep, setBundleStep] = useState<BundleProgress | undefined>(undefined)
  const [loaded, setLoaded] = useState<readonly LoadedBundleImage[] | undefined>(undefined)
  const [downloaded, setDownloaded] = useState(false)
  const download = useMutation(() => api.stack.pullImages({}).then(() => true))
  const load = useMutation((dir: string) => api.system.loadImageBundle({ dir }))

  useEvent('stack', (e) => {
    if (e.type !== 'image-progress') return
    setPulls((p) => ({ ...p, [e.serviceId]: e }))
  })
  useEvent('system', (e) => {
    if (e.type === 'bundle-progress') setBundleStep(e.progress)
  })

  const downloadAgain = async () => {
    setDownloaded(false)
    setPulls({})
    if (await download.run(undefined)) setDownloaded(true)
    images.refresh()
  }

  const loadBundle = async () => {
    setLoaded(undefined)
    setBundleStep(undefined)
    const out = await load.run(bundleDir.trim())
    if (out) setLoaded(out)
    images.refresh()
  }

  const id = sectionHeadingId('images')
  const data = images.data
  return (
    <section aria-labelledby={id} className="settings-section">
      <h2 id={id}>Images</h2>
      <p className="muted">
        Each service runs from an image pinned by its digest: Flash Box refuses any other.
      </p>
      {images.error && <ErrorBox error={images.error} />}
      {!data && !images.error && <Spinner label="Looking at the images…" />}
      {data && !data.planned && (
        <p>Finish the setup first: then the images of the services you chose are listed here.</p>
      )}
      {data && !data.dockerReachable && data.planned && (
        <p className="notice tone-warn">
          Docker is not running, so Flash Box cannot see which images are here.
        </p>
      )}
      {data && data.images.length > 0 && (
        <table aria-label="Images">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Image</th>
              <th scope="col">State</th>
              <th scope="col">Download</th>
            </tr>
          </thead>
          <tbody>
            {data.images.map((i) => {
              const pull = pulls[i.serviceId]
              return (
                <tr key={i.serviceId} data-image={i.serviceId} data-state={i.state}>
                  <td>{i.displayName}</td>
                  <td>
                    <code title={i.pinned}>{i.image}</code>
                    {i.builtHere && <span className="muted"> (built by Flash Box)</span>}
                  </td>
                  <td>
                    <Badge tone={stateText[i.state].tone}>{stateText[i.state].label}</Badge>
                    {i.problem && <p className="muted">{i.problem.message}</p>}
                  </td>
                  <td>
                    {pull ? (
                      <Progress
                        label={`Download of ${i.displayName}`}
                        value={pull.done ? 1 : pull.current}
                        max={pull.done ? 1 : pull.total}
                        text={
                          pull.done
                            ? 'Done'
                            : `${formatBytes(pull.current)} of ${formatBytes(pull.total)}`
                        }
                      />
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
      <div className="wizard-nav">
        <button
          type="button"
          onClick={() => void downloadAgain()}
          disabled={download.pending || !data?.planned}
        >
          {download.pending ? 'Downloading…' : 'Download again'}
        </button>
      </div>
      {download.error && <ErrorBox error={download.error} />}
      {downloaded && !download.error && (
        <p className="notice tone-ok" role="status">
          Every image is here and matches its pinned digest.
        </p>
      )}

      <h3>Load an offline image bundle</h3>
      <p>
        For a computer without internet: pick the folder that holds the bundle’s{' '}
        <code>manifest.json</code> and image files. Every image is checked against its digest before
        Docker loads it.
        {data && data.bundleImages > 0 && ` A bundle of ${data.bundleImages} images is loaded.`}
      </p>
      <FolderPicker
        label="Offline bundle folder"
        dialogTitle="Choose the offline image bundle folder"
        value={bundleDir}
        onChange={setBundleDir}
      />
      <div className="wizard-nav">
        <button
          type="button"
          onClick={() => void loadBundle()}
          disabled={load.pending || !bundleDir.trim()}
        >
          {load.pending ? 'Loading…' : 'Load the bundle'}
        </button>
      </div>
      {load.pending && bundleStep && (
        <Progress
          label="Offline bundle"
          value={bundleStep.index + (bundleStep.step === 'done' ? 1 : 0)}
          max={bundleStep.count}
          text={`${bundleStep.step === 'checking' ? 'Checking' : bundleStep.step === 'loading' ? 'Loading' : 'Loaded'} ${bundleStep.file} (${bundleStep.index + 1} of ${bundleStep.count}, ${formatBytes(bundleStep.bytes)})`}
        />
      )}
      {load.error && <ErrorBox error={load.error} />}
      {loaded && (
        <p className="notice tone-ok" role="status">
          Loaded {loaded.length} image{loaded.length === 1 ? '' : 's'}; every digest matched.
        </p>
      )}
    </section>
  )
}
