// QR codes for invoices and tokens, rendered in the engine as SVG data URLs so the renderer only
// shows an image.
import QRCode from 'qrcode'

/** Byte-mode capacity at error-correction level L (version 40) is 2953; keep a margin. */
const MAX_QR_CHARS = 2900

export async function qrDataUrl(
  text: string,
  opts: { uppercase?: boolean } = {},
): Promise<string | undefined> {
  // BOLT11 in upper case fits the QR alphanumeric mode: a smaller, easier-to-scan code.
  const value = opts.uppercase ? text.toUpperCase() : text
  if (value.length > MAX_QR_CHARS) return undefined
  const svg = await QRCode.toString(value, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 })
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
}
