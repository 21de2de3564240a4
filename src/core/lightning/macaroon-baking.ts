// Bakes each consumer's macaroon (src/core/stack/macaroons.ts says which permissions) with LND's
// BakeMacaroon, using the admin macaroon LND wrote when the wallet was created, and writes it where
// the catalog mounts it: <data folder>/lnd/macaroons/<consumer>/<consumer>.macaroon, 0600, atomic.
// Baked once; a new wallet (new macaroon root key) means the old ones are removed and baked again.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { writeFileAtomicSync } from '../atomic-file'
import { lndError } from '../clients/lnd'
import { redact, type Logger } from '../log'
import { ensureSecretDir } from '../secrets/secret-file'
import {
  macaroonConsumers,
  macaroonFor,
  macaroonPath,
  type MacaroonConsumer,
} from '../stack/macaroons'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

export function missingMacaroons(stackDir: string): MacaroonConsumer[] {
  return macaroonConsumers.filter((c) => !existsSync(macaroonPath(stackDir, c)))
}

export function removeMacaroons(stackDir: string): void {
  for (const c of macaroonConsumers) rmSync(macaroonPath(stackDir, c), { force: true })
}

export function readMacaroon(stackDir: string, consumer: MacaroonConsumer): Buffer | null {
  try {
    const m = readFileSync(macaroonPath(stackDir, consumer))
    redact(m.toString('hex'))
    return m.length > 0 ? m : null
  } catch {
    return null
  }
}

/** Bakes the missing macaroons with an LND authenticated by the admin macaroon. */
export async function bakeMissingMacaroons(
  adminLnd: Lightning.AuthenticatedLnd,
  stackDir: string,
  log: Logger,
): Promise<MacaroonConsumer[]> {
  const baked: MacaroonConsumer[] = []
  for (const consumer of missingMacaroons(stackDir)) {
    const grant = macaroonFor(consumer)
    let macaroon: string
    try {
      ;({ macaroon } = await ln.grantAccess({ lnd: adminLnd, permissions: [...grant.permissions] }))
    } catch (err) {
      throw lndError(`bakeMacaroon (${consumer})`, err)
    }
    const bytes = Buffer.from(macaroon, 'base64')
    redact(bytes.toString('hex'))
    redact(macaroon)
    const path = macaroonPath(stackDir, consumer)
    ensureSecretDir(dirname(path))
    writeFileAtomicSync(path, bytes, 0o600)
    baked.push(consumer)
    log.info(`baked the ${consumer} macaroon (${grant.permissions.join(', ')})`)
  }
  return baked
}
