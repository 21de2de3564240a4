// The box's own certificate authority for LAN mode (issue 13 item 2): the shop's devices install
// its certificate once (Settings → Reachability → install page), then trust the front door's
// certificate for `<name>.local` and the LAN address.
//
// Why our own CA rather than Caddy's `tls internal`: Caddy keeps its root key as a plain file in
// its storage, outside the box key; ours is sealed under the box key (purpose 'reach.ca', like the
// other secrets of issue 14), so it is encrypted at rest and in backups. X.509 is built with
// @peculiar/x509 on Node's WebCrypto (ECDSA P-256, which every phone accepts).
//
// Files (<stack data>/caddy/lan/, read by the Caddy container as /data/lan/):
//   ca.crt     — the CA certificate (public; the install page serves it)
//   cert.pem   — the front door's certificate (leaf, then CA)
//   key.pem    — its key, 0600 (Caddy must read it in the clear)
//   cert.json  — what the leaf was made for (name, address, expiry), to renew when they change
import { webcrypto, X509Certificate } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
// @peculiar/x509 resolves its ASN.1 classes through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import type { BoxKey } from '../secrets/box-key'
import { readSealedFile, writeSealedFile } from '../secrets/box-key-file'
import { writeSecretFileAtomic } from '../secrets/secret-file'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 86_400_000
/** The CA lives ten years: reinstalling it on every device is the expensive step. */
const CA_DAYS = 3650
/** Leaf lifetime stays under Apple's 398-day limit for server certificates. */
const LEAF_DAYS = 397
/** Renew the leaf this long before it expires. */
const RENEW_DAYS = 30
const CA_PURPOSE = 'reach.ca'

export interface LanCertificateFiles {
  readonly dir: string
  readonly caCert: string
  readonly cert: string
  readonly key: string
}

export function lanCertificateFiles(stackDataDir: string): LanCertificateFiles {
  const dir = join(stackDataDir, 'caddy', 'lan')
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
  }
}

/** Where the CA key (sealed) is kept: the engine's secrets, like the box key itself. */
export function caKeyPath(engineDataDir: string): string {
  return join(engineDataDir, 'secrets', 'box-ca.json')
}

const CaFile = z.object({ certPem: z.string().min(1), keyPkcs8: z.string().min(1) })
const LeafMeta = z.object({
  name: z.string(),
  address: z.string(),
  notAfter: z.number(),
  caFingerprint: z.string(),
})

export interface BoxCa {
  readonly certPem: string
  /** SHA-256 of the DER certificate, as phones show it (AA:BB:…). */
  readonly fingerprint: string
  readonly key: CryptoKey
  readonly cert: x509.X509Certificate
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16))
  b[0] = b[0]! & 0x7f // positive
  return Buffer.from(b).toString('hex')
}

export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256
}

async function importCa(certPem: string, keyPkcs8: string): Promise<BoxCa> {
  const key = await webcrypto.subtle.importKey(
    'pkcs8',
    Buffer.from(keyPkcs8, 'base64'),
    ALG,
    false,
    ['sign'],
  )
  return {
    certPem,
    fingerprint: certificateFingerprint(certPem),
    key: key as CryptoKey,
    cert: new x509.X509Certificate(certPem),
  }
}

async function createCa(boxName: string, now: number): Promise<{ certPem: string; pkcs8: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // The random part keeps two boxes' CAs apart on a device that installed both.
    name: `CN=Flash Box ${boxName} local CA ${serial().slice(0, 8)}, O=Flash Box`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + CA_DAYS * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString(
    'base64',
  )
  return { certPem: cert.toString('pem'), pkcs8 }
}

/** The box's CA, made once; its key sealed under the box key (which must be unlocked). */
export async function loadOrCreateBoxCa(
  box: BoxKey,
  engineDataDir: string,
  boxName: string,
  now = Date.now(),
): Promise<BoxCa> {
  box.requireUnlocked()
  const path = caKeyPath(engineDataDir)
  const sealed = readSealedFile(box, path, CA_PURPOSE)
  if (sealed) {
    const f = CaFile.safeParse(JSON.parse(sealed.toString('utf8')))
    if (!f.success)
      throw new FlashError(
        'reach.ca_damaged',
        'The file holding this box’s LAN certificate authority is damaged.',
        'Restore the box from a backup in Settings → Backup. Without it, every shop device must install a new certificate.',
      )
    return importCa(f.data.certPem, f.data.keyPkcs8)
  }
  const made = await createCa(boxName, now)
  writeSealedFile(
    box,
    path,
    CA_PURPOSE,
    JSON.stringify({ certPem: made.certPem, keyPkcs8: made.pkcs8 }),
  )
  return importCa(made.certPem, made.pkcs8)
}

/** The front door's certificate for `<name>.local` and the LAN address, signed by the CA. */
export async function issueLanCertificate(
  ca: BoxCa,
  name: string,
  address: string,
  now = Date.now(),
): Promise<{ certPem: string; keyPem: string; notAfter: number }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
  const host = `${name}.local`
  const notAfter = now + LEAF_DAYS * DAY
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${host}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(notAfter),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: host },
        { type: 'ip', value: address },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`
  return { certPem: cert.toString('pem') + '\n', keyPem, notAfter }
}

/** Whether the leaf on disk was made by this CA for this name and address and is not near expiry. */
export function lanCertificateCurrent(
  files: LanCertificateFiles,
  want: { name: string; address: string; caFingerprint?: string },
  now = Date.now(),
): boolean {
  const metaPath = join(files.dir, 'cert.json')
  if (![files.caCert, files.cert, files.key, metaPath].every((p) => existsSync(p))) return false
  try {
    const m = LeafMeta.parse(JSON.parse(readFileSync(metaPath, 'utf8')))
    return (
      m.name === want.name &&
      m.address === want.address &&
      (want.caFingerprint === undefined || m.caFingerprint === want.caFingerprint) &&
      m.notAfter - RENEW_DAYS * DAY > now
    )
  } catch {
    return false
  }
}

/**
 * Makes (or renews) the LAN certificate files for `<name>.local` at `address`. Needs the box key
 * unlocked (the CA key is sealed under it). Returns the CA's fingerprint.
 */
export async function ensureLanCertificate(
  box: BoxKey,
  engineDataDir: string,
  stackDataDir: string,
  want: { name: string; address: string },
  now = Date.now(),
): Promise<{ caFingerprint: string; renewed: boolean }> {
  const files = lanCertificateFiles(stackDataDir)
  const ca = await loadOrCreateBoxCa(box, engineDataDir, want.name, now)
  if (lanCertificateCurrent(files, { ...want, caFingerprint: ca.fingerprint }, now))
    return { caFingerprint: ca.fingerprint, renewed: false }
  const leaf = await issueLanCertificate(ca, want.name, want.address, now)
  writeSecretFileAtomic(files.key, leaf.keyPem)
  writeFileAtomicSync(files.cert, leaf.certPem + ca.certPem, 0o644)
  writeFileAtomicSync(files.caCert, ca.certPem, 0o644)
  writeFileAtomicSync(
    join(files.dir, 'cert.json'),
    JSON.stringify({
      name: want.name,
      address: want.address,
      notAfter: leaf.notAfter,
      caFingerprint: ca.fingerprint,
    }) + '\n',
    0o644,
  )
  return { caFingerprint: ca.fingerprint, renewed: true }
}

/** Short SHA-256 of the CA certificate file, for the install page's "compare this" line. */
export function caFileFingerprint(files: LanCertificateFiles): string | undefined {
  if (!existsSync(files.caCert)) return undefined
  return certificateFingerprint(readFileSync(files.caCert, 'utf8'))
}
