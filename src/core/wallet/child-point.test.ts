// childPoint on both builds of libsecp256k1 (native prebuild, WebAssembly): the same points, and
// undefined exactly where BIP32 calls a child invalid.
import { randomBytes } from 'node:crypto'
import * as wasm from 'tiny-secp256k1'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type * as ChildPoint from './child-point'

/** child-point.ts loaded afresh, with FLASHBOX_SECP256K1 set as given. */
async function load(backend: 'native' | 'wasm'): Promise<typeof ChildPoint> {
  vi.resetModules()
  if (backend === 'wasm') vi.stubEnv('FLASHBOX_SECP256K1', 'wasm')
  return import('./child-point')
}
afterEach(() => vi.unstubAllEnvs())

const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141')
const scalar = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex')
const uncompressed = (k: bigint) => wasm.pointFromScalar(scalar(k), false)!

describe.each(['native', 'wasm'] as const)('childPoint on the %s build', (backend) => {
  it('is the backend asked for (native where the prebuild exists, as on linux-x64)', async () => {
    const m = await load(backend)
    const prebuilt = process.platform === 'linux' && process.arch === 'x64'
    if (backend === 'wasm' || prebuilt) expect(m.childPointBackend).toBe(backend)
  })

  it('gives K + IL·G, compressed, as tiny-secp256k1 computes it', async () => {
    const { childPoint } = await load(backend)
    for (let i = 0; i < 200; i++) {
      const parent = wasm.pointFromScalar(randomBytes(32), true)!
      const il = randomBytes(32)
      const expected = wasm.isPrivate(il) ? wasm.pointAddScalar(parent, il, true) : null
      const got = childPoint(wasm.pointCompress(parent, false), il)
      expect(got && Buffer.from(got).toString('hex')).toBe(
        expected && Buffer.from(expected).toString('hex'),
      )
      expect(got?.length).toBe(33)
    }
  })

  it('returns undefined for a tweak of zero or at least n, and for the point at infinity', async () => {
    const { childPoint } = await load(backend)
    const parent = uncompressed(7n)
    expect(childPoint(parent, scalar(0n))).toBeUndefined()
    expect(childPoint(parent, scalar(N))).toBeUndefined()
    expect(childPoint(parent, Buffer.alloc(32, 0xff))).toBeUndefined()
    // 7·G + (n − 7)·G = n·G, the point at infinity.
    expect(childPoint(parent, scalar(N - 7n))).toBeUndefined()
    // The largest valid tweak still works: 7·G + (n − 1)·G = 6·G.
    expect(Buffer.from(childPoint(parent, scalar(N - 1n))!)).toEqual(
      Buffer.from(wasm.pointFromScalar(scalar(6n), true)!),
    )
  })

  it('hands out a new buffer each time (the scratch for IL·G is never returned)', async () => {
    const { childPoint } = await load(backend)
    const parent = uncompressed(11n)
    const a = childPoint(parent, scalar(1n))!
    const copy = Buffer.from(a)
    const b = childPoint(parent, scalar(2n))!
    expect(a).not.toBe(b)
    expect(Buffer.from(a)).toEqual(copy)
    expect(Buffer.from(b)).toEqual(Buffer.from(wasm.pointFromScalar(scalar(13n), true)!))
  })
})
