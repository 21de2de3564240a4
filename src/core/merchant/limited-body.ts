// A request body read whole, up to a size limit: the BTCPay webhook receiver and the settlement
// hook each take small JSON bodies, and a bigger one is cut off (null) instead of buffered.
import type { IncomingMessage } from 'node:http'

export function readLimitedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > maxBytes) {
        resolve(null)
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
