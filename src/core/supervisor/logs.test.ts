import { describe, expect, it } from 'vitest'
import { redact } from '../log'
import { demuxFrames, toLogLine } from './logs'

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const h = Buffer.alloc(8)
  h[0] = stream
  h.writeUInt32BE(payload.length, 4)
  return Buffer.concat([h, payload])
}

describe('docker log frames', () => {
  it('splits stdout and stderr frames and keeps a partial frame for later', () => {
    const whole = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'tail')])
    const { frames, rest } = demuxFrames(whole.subarray(0, whole.length - 2))
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
      ['stdout', 'out\n'],
      ['stderr', 'err\n'],
    ])
    expect(rest.length).toBe(8 + 2)
  })

  it('reads the timestamp and scrubs known secrets', () => {
    redact('hunter2-very-secret')
    const l = toLogLine('lnd', 'stderr', '2026-01-02T03:04:05.123456789Z pass=hunter2-very-secret')
    expect(l.time).toBe('2026-01-02T03:04:05.123Z')
    expect(l.text).toBe('pass=‹redacted›')
    expect(l.stream).toBe('stderr')
  })
})
