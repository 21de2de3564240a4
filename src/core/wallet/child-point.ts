// The one elliptic-curve step of BIP32 public derivation, child = K + IL·G, on libsecp256k1:
// compiled natively where this platform has secp256k1-node's N-API prebuild (linux-x64,
// darwin-arm64, win32-x64; no compiler runs at install: allowScripts denies its build script),
// else tiny-secp256k1, the same library compiled to WebAssembly. A wallet sync derives every
// address of an account (a thousand or more); the WebAssembly fixed-base multiplication is about
// three times slower than the native one here (≈95 µs against ≈30 µs a key). Both give the same
// points (child-point.test.ts checks them against each other and against bip32's own derive()).
// secp256k1-node's own JS fallback (elliptic) is never loaded: only its native binding is asked
// for, and when that fails the WebAssembly build is used.
import { createRequire } from 'node:module'
import * as wasm from 'tiny-secp256k1'

/** The parts of secp256k1-node's native binding used here (its `bindings.js`). */
interface NativeSecp256k1 {
  publicKeyCreate(seckey: Uint8Array, compressed: boolean, output?: Uint8Array): Uint8Array
  publicKeyCombine(pubkeys: Uint8Array[], compressed: boolean, output?: Uint8Array): Uint8Array
}

function loadNative(): NativeSecp256k1 | undefined {
  if (process.env.FLASHBOX_SECP256K1 === 'wasm') return undefined
  const require = createRequire(import.meta.url)
  try {
    return require('secp256k1/bindings.js') as NativeSecp256k1
  } catch {
    return undefined // no prebuild for this platform (or a bundle without node_modules)
  }
}

const native = loadNative()

/** Which build of libsecp256k1 derives keys in this process. */
export const childPointBackend: 'native' | 'wasm' = native ? 'native' : 'wasm'

/** Scratch for IL·G (uncompressed): overwritten by every call, never handed out. */
const tweakPoint = new Uint8Array(65)

/**
 * K + IL·G, compressed (33 bytes), for a parent K given uncompressed (65 bytes: adding to it needs
 * no square root). Undefined in the cases BIP32 calls invalid (IL ≥ n or zero, or the sum is the
 * point at infinity; each about 2^-127): the caller lets bip32 decide those.
 */
export function childPoint(parentUncompressed: Uint8Array, il: Uint8Array): Uint8Array | undefined {
  if (native) {
    try {
      native.publicKeyCreate(il, false, tweakPoint)
      return native.publicKeyCombine([parentUncompressed, tweakPoint], true)
    } catch {
      return undefined // secp256k1-node throws for an invalid scalar and for infinity
    }
  }
  if (!wasm.isPrivate(il)) return undefined
  const tweak = wasm.pointFromScalar(il, false)
  return (tweak && wasm.pointAdd(parentUncompressed, tweak, true)) ?? undefined
}
