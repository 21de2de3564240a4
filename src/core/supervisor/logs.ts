// Container logs: the last N lines (optionally searched) and a live follow, as LogLines.
// Docker multiplexes stdout/stderr of non-TTY containers into 8-byte-header frames
// (https://docs.docker.com/engine/api/v1.41/#tag/Container/operation/ContainerAttach).
import type Docker from 'dockerode'
import type { LogLine } from '../../shared/api/stack'
import { scrub } from '../log'

interface Frame {
  readonly stream: 'stdout' | 'stderr'
  readonly payload: Buffer
}

/** Splits a multiplexed buffer into frames; returns the unconsumed tail (a partial frame). */
export function demuxFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = []
  let off = 0
  while (buf.length - off >= 8) {
    const kind = buf[off]!
    const size = buf.readUInt32BE(off + 4)
    if (buf.length - off - 8 < size) break
    frames.push({
      stream: kind === 2 ? 'stderr' : 'stdout',
      payload: buf.subarray(off + 8, off + 8 + size),
    })
    off += 8 + size
  }
  return { frames, rest: buf.subarray(off) }
}

/** `2026-01-01T00:00:00.123456789Z text` → LogLine (secrets known to the engine are scrubbed). */
export function toLogLine(serviceId: string, stream: 'stdout' | 'stderr', raw: string): LogLine {
  const sp = raw.indexOf(' ')
  const stamp = sp > 0 ? raw.slice(0, sp) : ''
  const ok = /^\d{4}-\d\d-\d\dT/.test(stamp)
  return {
    serviceId,
    stream,
    time: ok
      ? new Date(stamp.replace(/(\.\d{3})\d+/, '$1')).toISOString()
      : new Date().toISOString(),
    text: scrub(ok ? raw.slice(sp + 1) : raw),
  }
}

function linesOf(serviceId: string, frames: readonly Frame[]): LogLine[] {
  const out: LogLine[] = []
  for (const f of frames) {
    for (const l of f.payload.toString('utf8').split('\n')) {
      if (l.length) out.push(toLogLine(serviceId, f.stream, l.replace(/\r$/, '')))
    }
  }
  return out
}

export async function tailLogs(
  docker: Docker,
  containerId: string,
  serviceId: string,
  tail: number,
  search?: string,
): Promise<LogLine[]> {
  const raw = (await docker.getContainer(containerId).logs({
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: false,
    // Searching looks further back than it shows.
    tail: search ? Math.max(tail * 20, 5000) : tail,
  })) as unknown as Buffer
  let lines = linesOf(serviceId, demuxFrames(Buffer.from(raw)).frames)
  if (search) {
    const needle = search.toLowerCase()
    lines = lines.filter((l) => l.text.toLowerCase().includes(needle))
  }
  return lines.slice(-tail)
}

/** Streams new lines until the returned function is called (or the container goes away). */
export async function followLogs(
  docker: Docker,
  containerId: string,
  serviceId: string,
  onLine: (line: LogLine) => void,
): Promise<() => void> {
  const stream = (await docker.getContainer(containerId).logs({
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: true,
    since: Math.floor(Date.now() / 1000),
  })) as NodeJS.ReadableStream & { destroy?: () => void }
  let pending: Buffer = Buffer.alloc(0)
  const partial = { stdout: '', stderr: '' }
  stream.on('data', (chunk: Buffer) => {
    const { frames, rest } = demuxFrames(Buffer.concat([pending, chunk]))
    pending = rest
    for (const f of frames) {
      const text = partial[f.stream] + f.payload.toString('utf8')
      const parts = text.split('\n')
      partial[f.stream] = parts.pop() ?? ''
      for (const l of parts)
        if (l.length) onLine(toLogLine(serviceId, f.stream, l.replace(/\r$/, '')))
    }
  })
  stream.on('error', () => {})
  return () => stream.destroy?.()
}
