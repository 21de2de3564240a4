// The preload: runs sandboxed, exposes exactly two functions to the page. No Node, no ipcRenderer,
// no channel names leak into the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import type { EngineEvent } from '../shared/api/events'
import { CALL_CHANNEL, EVENT_CHANNEL, type BridgeResult } from './bridge-types'

contextBridge.exposeInMainWorld('flashbox', {
  invoke: (domain: string, procedure: string, input: unknown): Promise<BridgeResult> =>
    ipcRenderer.invoke(CALL_CHANNEL, String(domain), String(procedure), input),
  onEvent: (fn: (event: EngineEvent) => void): (() => void) => {
    const listener = (_e: IpcRendererEvent, event: EngineEvent) => fn(event)
    ipcRenderer.on(EVENT_CHANNEL, listener)
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, listener)
    }
  },
})
