// Every call from the window lands here: check who is calling, answer desktop preferences
// (domain `app`) here, hand everything else to the engine, and let only {code,message,hint}
// cross back — never a stack trace or an internal message.
import { z } from 'zod'
import { toUserError, FlashError } from '../core/errors'
import type { Engine } from '../core/engine/engine'
import { LogFollows } from '../core/api/log-follows'
import type { BridgeResult } from '../preload/bridge-types'
import { PreferencesPatchSchema, type Preferences } from './preferences'

export interface DesktopApp {
  getPreferences(): Preferences
  setPreferences(patch: Partial<Preferences>): Preferences
  /** The system's folder dialog; null when the user cancels. */
  pickFolder?(opts: { title: string; defaultPath?: string }): Promise<string | null>
}

const PickFolderInput = z.object({
  title: z.string().min(1).max(200),
  defaultPath: z.string().max(4096).optional(),
})

export interface IpcSender {
  /** webContents id, to release a closed window's log follows. */
  readonly id: number
  /** URL of the calling frame (senderFrame.url). */
  readonly url: string
  /** The main frame is calling (not an iframe). */
  readonly isMainFrame: boolean
}

const Name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)
const FollowInput = z.object({ id: z.string().min(1).max(64), follow: z.boolean() })

export function createIpcDispatcher(deps: {
  readonly engine: Pick<Engine, 'call' | 'log'>
  readonly isTrusted: (url: string) => boolean
  readonly app: DesktopApp
}) {
  const follows = new LogFollows(deps.engine, { transport: 'ipc' })
  const perWindow = new Map<number, Set<string>>()

  async function handle(sender: IpcSender, domain: string, procedure: string, input: unknown) {
    if (domain === 'app') {
      if (procedure === 'getPreferences') return deps.app.getPreferences()
      if (procedure === 'setPreferences') {
        const patch = PreferencesPatchSchema.safeParse(input)
        if (!patch.success)
          throw new FlashError('api.bad_input', 'Those preferences are not valid.', 'Try again.')
        return deps.app.setPreferences(patch.data)
      }
      if (procedure === 'pickFolder' && deps.app.pickFolder) {
        const opts = PickFolderInput.safeParse(input)
        if (!opts.success)
          throw new FlashError(
            'api.bad_input',
            'The folder dialog was asked wrongly.',
            'Try again.',
          )
        return deps.app.pickFolder(opts.data)
      }
      throw new FlashError(
        'api.unknown_procedure',
        `There is no "app.${procedure}".`,
        'Update the app.',
      )
    }
    if (domain === 'stack' && procedure === 'followLogs') {
      // Counted per window so two windows (or a reload) do not stop each other's stream.
      const f = FollowInput.safeParse(input)
      if (!f.success) return deps.engine.call(domain, procedure, input, { transport: 'ipc' })
      const mine = perWindow.get(sender.id) ?? new Set<string>()
      perWindow.set(sender.id, mine)
      if (f.data.follow && !mine.has(f.data.id)) {
        mine.add(f.data.id)
        await follows.follow(f.data.id).catch((err: unknown) => {
          mine.delete(f.data.id)
          throw err
        })
      } else if (!f.data.follow && mine.delete(f.data.id)) await follows.unfollow(f.data.id)
      return undefined
    }
    return deps.engine.call(domain, procedure, input, { transport: 'ipc' })
  }

  return {
    async dispatch(
      sender: IpcSender,
      domain: unknown,
      procedure: unknown,
      input: unknown,
    ): Promise<BridgeResult> {
      if (!sender.isMainFrame || !deps.isTrusted(sender.url)) {
        deps.engine.log.warn('refused an IPC call from an untrusted frame', { url: sender.url })
        return {
          ok: false,
          error: {
            code: 'ipc.untrusted',
            message: 'This page may not talk to Flash Box.',
            hint: 'Only the Flash Box window can do this.',
          },
        }
      }
      const d = Name.safeParse(domain)
      const p = Name.safeParse(procedure)
      if (!d.success || !p.success)
        return {
          ok: false,
          error: {
            code: 'api.unknown_procedure',
            message: 'There is no such call in the API.',
            hint: 'Update the app.',
          },
        }
      try {
        return { ok: true, value: await handle(sender, d.data, p.data, input ?? {}) }
      } catch (err) {
        if (!(err instanceof FlashError))
          deps.engine.log.error('IPC call failed', {
            call: `${d.data}.${p.data}`,
            error: err instanceof Error ? err.message : String(err),
          })
        return { ok: false, error: toUserError(err) }
      }
    },
    /** A window went away: stop the log streams it asked for. */
    release(senderId: number): void {
      const mine = perWindow.get(senderId)
      perWindow.delete(senderId)
      for (const id of mine ?? []) void follows.unfollow(id)
    },
  }
}
