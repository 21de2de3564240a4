import { useId } from 'react'
import { desktop, type DesktopPreferences as Prefs, type StopOnQuit } from '../../api/desktop'
import { useMutation, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'
import { CheckboxField, SelectField } from '../../shell/TextField'

export function DesktopPreferences() {
  const prefs = useQuery(() => desktop.getPreferences(), [])
  const save = useMutation((p: Partial<Prefs>) => desktop.setPreferences(p))
  const quitId = useId()

  const update = async (p: Partial<Prefs>) => {
    const next = await save.run(p)
    if (next) prefs.setData(next)
  }

  return (
    <section aria-labelledby="desktop-prefs">
      <h2 id="desktop-prefs">This computer</h2>
      {prefs.error && <ErrorBox error={prefs.error} />}
      {save.error && <ErrorBox error={save.error} />}
      {!prefs.data ? (
        !prefs.error && <Spinner label="Loading…" />
      ) : (
        <>
          <CheckboxField
            label="Open Flash Box when I log in to this computer"
            checked={prefs.data.startAtLogin}
            onChange={(e) => void update({ startAtLogin: e.target.checked })}
            disabled={save.pending}
          />
          <SelectField
            id={quitId}
            label="When I quit Flash Box"
            value={prefs.data.stopStackOnQuit}
            onChange={(e) => void update({ stopStackOnQuit: e.target.value as StopOnQuit })}
            disabled={save.pending}
          >
            <option value="ask">Ask me whether to stop the services</option>
            <option value="always">Stop the services cleanly</option>
            <option value="never">Keep the services running in the background</option>
          </SelectField>
        </>
      )}
    </section>
  )
}
