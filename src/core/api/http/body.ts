// Request bodies: JSON only, bounded in size. Reading stops at the limit.
import type { IncomingMessage } from 'node:http'
import type { UserError } from '../../../shared/errors'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: UserError,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message)
  }
}

export const tooLarge = (limit: number) =>
  new HttpError(413, {
    code: 'http.body_too_large',
    message: `The request is too large (the limit is ${Math.round(limit / 1024)} KiB).`,
    hint: 'Send less data at once.',
  })

export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') {
    return Promise.reject(
      new HttpError(415, {
        code: 'http.unsupported_type',
        message: 'The request must be JSON.',
        hint: 'Send the body with Content-Type: application/json.',
      }),
    )
  }
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit))

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (fn: () => void) => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      fn()
    }
    const onData = (c: Buffer) => {
      size += c.length
      if (size > limit) {
        req.pause()
        finish(() => reject(tooLarge(limit)))
        return
      }
      chunks.push(c)
    }
    const onEnd = () =>
      finish(() => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (text.trim() === '') return resolve({})
        try {
          resolve(JSON.parse(text))
        } catch {
          reject(
            new HttpError(400, {
              code: 'http.bad_json',
              message: 'The request body is not valid JSON.',
              hint: 'Check the data you sent; it must be a JSON object.',
            }),
          )
        }
      })
    const onError = () =>
      finish(() =>
        reject(
          new HttpError(400, {
            code: 'http.aborted',
            message: 'The request was interrupted.',
            hint: 'Try again.',
          }),
        ),
      )
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}
