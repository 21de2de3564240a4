// SIMULATOR — test-only. Greenfield "Boltcards" on pull payments (BTCPay 2.x,
// GreenfieldPullPaymentController.RegisterBoltcard): POST /api/v1/pull-payments/{id}/boltcards
// with {UID} (program) or {LNURLW} (reset, the card's URL with p and c) links a card to the pull
// payment and answers its K0–K4 by Boltcard deterministic key generation (DETERMINISTIC.md) from
// the server's issuer key, with the registration's version:
//   - no registration yet, or onExisting=UpdateVersion: link (a new card gets version 0,
//     UpdateVersion bumps it), keys of that version;
//   - otherwise (KeepVersion, or already linked): the registration's version, refused when the
//     card is not registered or is linked to another pull payment;
//   - LNURLW: p is opened with the issuer's K1, and c picks among the last versions.
// Anonymous, as BTCPay ([AllowAnonymous]). Answers `lnurlw://<host>/boltcard`, BTCPay's own tap
// endpoint (the simulator does not serve it; the box serves the withdraw itself).
import { randomBytes } from 'node:crypto'
import { fromHex, hex } from '../../../src/core/boltcard/aes-cmac'
import { cardId, deriveKeys, encryptionKey } from '../../../src/core/boltcard/deterministic-keys'
import { checkSdmMac, decryptPiccData } from '../../../src/core/boltcard/sun-message'
import { sunParameters } from '../../../src/core/boltcard/card-programming'
import {
  invalid,
  objectBody,
  ok,
  problem,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import { pullPaymentOf } from './pull-payments'
import { payoutsOf } from './payouts'
import { Policies } from './permissions'

export interface BoltcardRegistration {
  pullPaymentId: string | null
  version: number
}

/** The server's issuer key (BTCPay keeps one per server in its settings). */
export const issuerKeyOf = (sim: Greenfield): Uint8Array =>
  sim.area('boltcards.issuerKey', () => new Uint8Array(randomBytes(16)))

/** Registrations by card ID (hex of PRF(IssuerKey, 2d003f7b ‖ UID)): BTCPay stores no UID. */
export const registrationsOf = (sim: Greenfield) =>
  sim.area('boltcards', () => new Map<string, BoltcardRegistration>())

export function routes(): GreenfieldRoute[] {
  return [
    {
      // ArchivePullPayment as BTCPay routes it (store-scoped; pull-payments.ts also answers the
      // unscoped path). Archiving cancels payouts not paid yet.
      method: 'DELETE',
      path: '/api/v1/stores/{storeId}/pull-payments/{pullPaymentId}',
      auth: { kind: 'policy', anyOf: [Policies.canArchivePullPayments] },
      handle: (c) => {
        const pp = pullPaymentOf(c.sim, c.params.pullPaymentId!)
        if (pp.storeId !== c.params.storeId)
          throw problem(404, 'pullpayment-not-found', 'The pull payment was not found')
        pp.archived = true
        for (const p of payoutsOf(c.sim).values())
          if (
            p.pullPaymentId === pp.id &&
            (p.state === 'AwaitingApproval' || p.state === 'AwaitingPayment')
          )
            p.state = 'Cancelled'
        return ok(undefined)
      },
    },
    {
      method: 'POST',
      path: '/api/v1/pull-payments/{pullPaymentId}/boltcards',
      auth: { kind: 'none' },
      handle: (c) => {
        const sim = c.sim
        const pp = pullPaymentOf(sim, c.params.pullPaymentId!)
        const b = objectBody(c)
        const issuer = issuerKeyOf(sim)
        let uid: Uint8Array | undefined
        let sun: { p: Uint8Array; c: Uint8Array } | undefined
        if (b.LNURLW !== undefined && b.LNURLW !== null) {
          if (b.UID !== undefined && b.UID !== null)
            throw invalid('LNURLW', 'You should pass either LNURLW or UID but not both')
          sun = typeof b.LNURLW === 'string' ? sunParameters(b.LNURLW) : undefined
          if (!sun) throw invalid('LNURLW', "The LNURLW should contains a 'p=' parameter")
          const picc = decryptPiccData(encryptionKey(issuer), sun.p)
          if (!picc) throw invalid('LNURLW', "The LNURLW 'p=' parameter cannot be decrypted")
          uid = picc.uid
        } else if (typeof b.UID === 'string' && /^[0-9a-fA-F]{14}$/.test(b.UID)) {
          uid = fromHex(b.UID)
        }
        if (!uid) throw invalid('UID', 'The UID is required and should be 7 bytes')
        if (pp.currency !== 'BTC' && pp.currency !== 'SATS')
          throw problem(
            400,
            'lnurl-not-supported',
            'This pull payment currency should be BTC or SATS and accept lightning',
          )
        if (!pp.payoutMethods.includes('BTC-LN'))
          throw problem(
            400,
            'lnurl-not-supported',
            'This pull payment currency should be BTC or SATS and accept lightning',
          )
        const q =
          c.query.get('onExisting') ?? (typeof b.onExisting === 'string' ? b.onExisting : null)
        const onExisting = q === 'UpdateVersion' || q === 'KeepVersion' ? q : null
        const id = hex(cardId(issuer, uid))
        const regs = registrationsOf(sim)
        const reg = regs.get(id)
        let version: number
        if (onExisting === 'UpdateVersion' || (onExisting === null && !reg?.pullPaymentId)) {
          version = reg ? reg.version + (onExisting === 'UpdateVersion' ? 1 : 0) : 0
          regs.set(id, { pullPaymentId: pp.id, version })
        } else {
          if (!reg?.pullPaymentId) throw invalid('UID', "This card isn't registered")
          if (reg.pullPaymentId !== pp.id)
            throw invalid('UID', 'This card is registered on a different pull payment')
          version = reg.version
          if (sun) {
            // The server's version may be ahead of the card's: find the one whose K2 checks c.
            const picc = decryptPiccData(encryptionKey(issuer), sun.p)!
            let tries = 0
            while (!checkSdmMac(deriveKeys(issuer, uid, version).k2, picc, sun.c)) {
              version--
              if (version < 0 || ++tries > 5)
                throw invalid(
                  'UID',
                  'Unable to get keys of this card, it might be caused by a version mismatch',
                )
            }
          }
        }
        const k = deriveKeys(issuer, uid, version)
        const host = new URL(sim.baseUrl).host
        return ok({
          LNURLW: `lnurlw://${host}/boltcard`,
          version,
          K0: hex(k.k0).toUpperCase(),
          K1: hex(k.k1).toUpperCase(),
          K2: hex(k.k2).toUpperCase(),
          K3: hex(k.k3).toUpperCase(),
          K4: hex(k.k4).toUpperCase(),
        })
      },
    },
  ]
}
