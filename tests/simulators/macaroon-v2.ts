// SIMULATOR support — test-only. Macaroons in the libmacaroons V2 binary format that LND writes
// (admin.macaroon, readonly.macaroon, invoice.macaroon) and ln-service sends hex-encoded in the
// `macaroon` gRPC metadata. Signature chain as in the macaroon paper: key =
// HMAC-SHA256("macaroons-key-generator", rootKey), sig = HMAC(key, identifier). The identifier is
// the simulator's own (a JSON list of LND-style entity:action permissions), not LND's protobuf.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** LND permission: `entity:action`, or `uri:/package.Service/Method` for one RPC. */
export interface Permission {
  readonly entity: string
  readonly action: string
}

const FIELD_EOS = 0
const FIELD_LOCATION = 1
const FIELD_IDENTIFIER = 2
const FIELD_SIGNATURE = 6

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest()
const derivedKey = (rootKey: Buffer) => hmac(Buffer.from('macaroons-key-generator'), rootKey)

function varint(n: number): Buffer {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return Buffer.from(out)
}

const field = (type: number, data: Buffer) =>
  Buffer.concat([varint(type), varint(data.length), data])

export function mintMacaroon(rootKey: Buffer, permissions: readonly Permission[]): Buffer {
  const identifier = Buffer.from(
    JSON.stringify({ simulator: 'lnd', nonce: randomBytes(8).toString('hex'), permissions }),
  )
  const signature = hmac(derivedKey(rootKey), identifier)
  return Buffer.concat([
    Buffer.from([2]),
    field(FIELD_LOCATION, Buffer.from('lnd')),
    field(FIELD_IDENTIFIER, identifier),
    Buffer.from([FIELD_EOS]),
    Buffer.from([FIELD_EOS]), // no caveats
    field(FIELD_SIGNATURE, signature),
  ])
}

/** Verifies a V2 macaroon minted by `mintMacaroon`; returns its permissions or a reason. */
export function verifyMacaroon(
  rootKey: Buffer,
  mac: Buffer,
): { ok: true; permissions: Permission[] } | { ok: false; reason: string } {
  let pos = 0
  const readVarint = (): number => {
    let n = 0
    let shift = 0
    for (;;) {
      if (pos >= mac.length) throw new Error('truncated')
      const b = mac[pos++]!
      n |= (b & 0x7f) << shift
      if (!(b & 0x80)) return n
      shift += 7
      if (shift > 28) throw new Error('varint too long')
    }
  }
  const readField = (): { type: number; data: Buffer } => {
    const type = readVarint()
    if (type === FIELD_EOS) return { type, data: Buffer.alloc(0) }
    const len = readVarint()
    if (pos + len > mac.length) throw new Error('truncated')
    const data = mac.subarray(pos, pos + len)
    pos += len
    return { type, data }
  }
  try {
    if (mac[pos++] !== 2) return { ok: false, reason: 'unsupported macaroon version' }
    let f = readField()
    if (f.type === FIELD_LOCATION) f = readField()
    if (f.type !== FIELD_IDENTIFIER) return { ok: false, reason: 'missing identifier' }
    const identifier = f.data
    if (readField().type !== FIELD_EOS) return { ok: false, reason: 'malformed header' }
    if (readField().type !== FIELD_EOS) return { ok: false, reason: 'caveats are not supported' }
    const sig = readField()
    if (sig.type !== FIELD_SIGNATURE || sig.data.length !== 32)
      return { ok: false, reason: 'missing signature' }
    const expected = hmac(derivedKey(rootKey), identifier)
    if (!timingSafeEqual(expected, sig.data))
      return {
        ok: false,
        reason: 'verification failed: signature mismatch after caveat verification',
      }
    const parsed = JSON.parse(identifier.toString('utf8')) as { permissions?: Permission[] }
    return { ok: true, permissions: parsed.permissions ?? [] }
  } catch (err) {
    return { ok: false, reason: `cannot decode macaroon: ${String((err as Error).message)}` }
  }
}

const ENTITIES = [
  'onchain',
  'offchain',
  'address',
  'message',
  'peers',
  'info',
  'invoices',
  'signer',
  'macaroon',
]

/** The permission sets of LND's three default macaroons (lnd.go: adminPermissions etc.). */
export const DEFAULT_MACAROONS: Record<'admin' | 'readonly' | 'invoice', Permission[]> = {
  admin: [
    ...ENTITIES.flatMap((entity) => [
      { entity, action: 'read' },
      { entity, action: 'write' },
    ]),
    { entity: 'signer', action: 'generate' },
    { entity: 'macaroon', action: 'generate' },
  ],
  readonly: ENTITIES.map((entity) => ({ entity, action: 'read' })),
  invoice: [
    { entity: 'invoices', action: 'read' },
    { entity: 'invoices', action: 'write' },
    { entity: 'address', action: 'read' },
    { entity: 'address', action: 'write' },
    { entity: 'onchain', action: 'read' },
  ],
}
