// A PKCS#11 token (an HSM, a smart card, SoftHSM2) reached through its vendor module with
// pkcs11js. One loaded module per path per process (C_Initialize may be called once), shared by
// reference count so the last close finalizes it. Every PKCS#11 failure becomes a FlashError in
// plain words; the PIN never appears in an error or a log line.
import pkcs11js from 'pkcs11js'
import { FlashError } from '../../errors'

type Handle = Buffer

export interface TokenSummary {
  /** The slot's ID as PKCS#11 numbers it (decimal). It can change when tokens are re-initialised. */
  slotId: string
  label: string
  serial: string
  model: string
  manufacturer: string
  /** CKF_USER_PIN_* flags: the token's own count of wrong PINs, where it keeps one. */
  pin: PinState
}

export type PinState = 'ok' | 'count-low' | 'final-try' | 'locked' | 'not-initialised'

interface LoadedModule {
  lib: pkcs11js.PKCS11
  users: number
}
const loaded = new Map<string, LoadedModule>()

function acquire(modulePath: string): pkcs11js.PKCS11 {
  const have = loaded.get(modulePath)
  if (have) {
    have.users++
    return have.lib
  }
  const lib = new pkcs11js.PKCS11()
  try {
    lib.load(modulePath)
  } catch (err) {
    throw new FlashError(
      'hsm.module_missing',
      `The HSM module ${modulePath} could not be loaded.`,
      'Check the module path in Settings → HSM (for SoftHSM2 it is /usr/lib/softhsm/libsofthsm2.so) and that the HSM software is installed.',
      { cause: err },
    )
  }
  try {
    lib.C_Initialize()
  } catch (err) {
    if (!(
      err instanceof pkcs11js.Pkcs11Error && err.message === 'CKR_CRYPTOKI_ALREADY_INITIALIZED'
    ))
      throw pkcs11Failure(err)
  }
  loaded.set(modulePath, { lib, users: 1 })
  return lib
}

function release(modulePath: string): void {
  const have = loaded.get(modulePath)
  if (!have) return
  if (--have.users > 0) return
  loaded.delete(modulePath)
  try {
    have.lib.C_Finalize()
  } finally {
    have.lib.close()
  }
}

const CKF_USER_PIN_COUNT_LOW = 0x10000
const CKF_USER_PIN_FINAL_TRY = 0x20000
const CKF_USER_PIN_LOCKED = 0x40000
const CKF_USER_PIN_INITIALIZED = 0x8

function pinState(flags: number): PinState {
  if (flags & CKF_USER_PIN_LOCKED) return 'locked'
  if (!(flags & CKF_USER_PIN_INITIALIZED)) return 'not-initialised'
  if (flags & CKF_USER_PIN_FINAL_TRY) return 'final-try'
  if (flags & CKF_USER_PIN_COUNT_LOW) return 'count-low'
  return 'ok'
}

function trimPadded(s: string): string {
  return s.replace(/[\s\0]+$/, '')
}

function slotIdOf(handle: Handle): string {
  return handle.readBigUInt64LE(0).toString()
}

/** Every token present behind the module, for the slot chooser. */
export function listTokens(modulePath: string): TokenSummary[] {
  const lib = acquire(modulePath)
  try {
    return lib.C_GetSlotList(true).map((slot) => {
      const t = lib.C_GetTokenInfo(slot)
      return {
        slotId: slotIdOf(slot),
        label: trimPadded(t.label),
        serial: trimPadded(t.serialNumber),
        model: trimPadded(t.model),
        manufacturer: trimPadded(t.manufacturerID),
        pin: pinState(t.flags),
      }
    })
  } catch (err) {
    throw pkcs11Failure(err)
  } finally {
    release(modulePath)
  }
}

export interface TokenLogin {
  modulePath: string
  /** The token's serial number: stable across re-plugging, unlike the slot ID. */
  tokenSerial: string
  pin: string
}

/** A logged-in read/write session on one token. Close it when done. */
export class TokenSession {
  private closed = false

  private constructor(
    readonly lib: pkcs11js.PKCS11,
    readonly session: Handle,
    private readonly slot: Handle,
    private readonly modulePath: string,
  ) {}

  static open(login: TokenLogin): TokenSession {
    const lib = acquire(login.modulePath)
    let session: Handle | undefined
    try {
      const slot = lib
        .C_GetSlotList(true)
        .find((s) => trimPadded(lib.C_GetTokenInfo(s).serialNumber) === login.tokenSerial)
      if (!slot)
        throw new FlashError(
          'hsm.token_missing',
          `No HSM token with serial ${login.tokenSerial} is present.`,
          'Plug the HSM in (or check the module path), then choose its token again in Settings → HSM.',
        )
      session = lib.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION)
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, login.pin)
      } catch (err) {
        if (!(err instanceof pkcs11js.Pkcs11Error && err.message === 'CKR_USER_ALREADY_LOGGED_IN'))
          throw loginFailure(err, pinState(lib.C_GetTokenInfo(slot).flags))
      }
      return new TokenSession(lib, session, slot, login.modulePath)
    } catch (err) {
      if (session) lib.C_CloseSession(session)
      release(login.modulePath)
      throw err instanceof FlashError ? err : pkcs11Failure(err)
    }
  }

  /** Runs a PKCS#11 call, turning its failure into plain words. */
  call<T>(fn: (lib: pkcs11js.PKCS11, session: Handle) => T): T {
    if (this.closed)
      throw new FlashError(
        'hsm.session_closed',
        'The HSM session was closed.',
        'Unlock the HSM again in Settings → HSM.',
      )
    try {
      return fn(this.lib, this.session)
    } catch (err) {
      throw err instanceof FlashError ? err : pkcs11Failure(err)
    }
  }

  pinState(): PinState {
    return pinState(this.lib.C_GetTokenInfo(this.slot).flags)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.lib.C_Logout(this.session)
    } catch {
      // Already logged out, or the token is gone: the session is closed below either way.
    }
    try {
      this.lib.C_CloseSession(this.session)
    } catch {
      // The token was removed: its sessions are gone with it.
    }
    release(this.modulePath)
  }
}

function loginFailure(err: unknown, state: PinState): FlashError {
  const code = err instanceof pkcs11js.Pkcs11Error ? err.message : ''
  if (code === 'CKR_PIN_LOCKED' || state === 'locked')
    return new FlashError(
      'hsm.pin_locked',
      'The HSM has locked its PIN after too many wrong tries.',
      "Unlock it with the HSM's security-officer PIN using the HSM maker's tool; Flash Box cannot do that for you.",
    )
  if (code === 'CKR_PIN_INCORRECT' || code === 'CKR_PIN_INVALID' || code === 'CKR_PIN_LEN_RANGE') {
    const warning =
      state === 'final-try'
        ? ' One more wrong PIN will lock the HSM.'
        : state === 'count-low'
          ? ' The HSM counts wrong PINs; a few more will lock it.'
          : ''
    return new FlashError(
      'hsm.pin_incorrect',
      `The HSM refused the PIN.${warning}`,
      'Type the PIN again in Settings → HSM. Do not guess: HSMs lock after a few wrong tries.',
    )
  }
  return pkcs11Failure(err)
}

/** Plain words for the PKCS#11 results a user can act on; the rest stay in the log (cause). */
export function pkcs11Failure(err: unknown): FlashError {
  const code = err instanceof pkcs11js.Pkcs11Error ? err.message : ''
  switch (code) {
    case 'CKR_DEVICE_REMOVED':
    case 'CKR_TOKEN_NOT_PRESENT':
    case 'CKR_SESSION_HANDLE_INVALID':
    case 'CKR_SESSION_CLOSED':
      return new FlashError(
        'hsm.removed',
        'The HSM was removed or stopped answering. Nothing was signed.',
        'Plug it back in and unlock it again in Settings → HSM.',
        { cause: err },
      )
    case 'CKR_USER_NOT_LOGGED_IN':
      return new FlashError(
        'hsm.locked',
        'The HSM is locked.',
        'Unlock it with its PIN in Settings → HSM.',
        { cause: err },
      )
    case 'CKR_MECHANISM_INVALID':
    case 'CKR_CURVE_NOT_SUPPORTED':
    case 'CKR_DOMAIN_PARAMS_INVALID':
    case 'CKR_ATTRIBUTE_VALUE_INVALID':
    case 'CKR_TEMPLATE_INCONSISTENT':
      return new FlashError(
        'hsm.unsupported',
        'This HSM cannot make or use secp256k1 keys (the curve Bitcoin uses).',
        'Use an HSM that supports secp256k1 ECDSA; SoftHSM2, YubiHSM 2 and Nitrokey HSM 2 do.',
        { cause: err },
      )
    case 'CKR_DEVICE_MEMORY':
      return new FlashError(
        'hsm.full',
        'The HSM has no room for another key.',
        'Remove a key you no longer need with the HSM maker’s tool.',
        { cause: err },
      )
    default:
      return new FlashError(
        'hsm.failed',
        `The HSM refused the request${code ? ` (${code})` : ''}.`,
        'Check the HSM in Settings → HSM and try again.',
        { cause: err },
      )
  }
}
