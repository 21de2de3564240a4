// LND's TLS certificate, made by the box before LND first starts: LND uses tls.cert/tls.key when
// both exist (tlscertpath/tlskeypath, sample-lnd.conf), so the SHA-256 thumbprint that BTCPay pins
// (`certthumbprint=`) is known before LND runs — no "allowinsecure", no reading LND's files later.
// ECDSA P-256 like LND's own certificates; self-signed with CA:TRUE so gRPC clients can use the
// certificate itself as their trust anchor. Built with PKI.js (X.509 structures) over WebCrypto.
import { X509Certificate, createHash, createPrivateKey, webcrypto } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

export interface LndTlsMaterial {
  /** PEM certificate (public). */
  readonly certPem: string
  /** PEM SEC1 EC private key (secret). */
  readonly keyPem: string
  /** Lowercase hex SHA-256 of the certificate's DER bytes, as BTCPay's `certthumbprint=` wants. */
  readonly sha256Thumbprint: string
}

/** Names LND is reached by: its container hostname, and from the host. */
export const lndTlsNames = { dns: ['lnd', 'localhost'], ip: ['127.0.0.1'] } as const

/**
 * Ten years. LND (tlsautorefresh=false) keeps a given certificate until it expires and only then
 * makes its own (tls_manager.go maintainCert), which would break the pinned thumbprint; the box
 * owns renewal, long before that.
 */
const VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const

function ipv4Bytes(ip: string): Uint8Array {
  return new Uint8Array(ip.split('.').map((n) => Number(n)))
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64')
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`
}

export function certThumbprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')
}

export async function generateLndTls(now = new Date()): Promise<LndTlsMaterial> {
  const subtle = webcrypto.subtle
  type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto']
  const engine = new pkijs.CryptoEngine({
    name: 'node',
    crypto: webcrypto as unknown as EngineCrypto,
  })
  const alg = { name: 'ECDSA', namedCurve: 'P-256' }
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair

  const cert = new pkijs.Certificate()
  cert.version = 2 // X.509 v3
  const serial = webcrypto.getRandomValues(new Uint8Array(16))
  // DER INTEGERs are minimal and signed: a positive first byte that is never zero, or OpenSSL
  // rejects the certificate ("illegal padding") — about 1 in 512 random serials otherwise.
  serial[0] = (serial[0]! & 0x7f) | 0x40
  cert.serialNumber = new asn1js.Integer({ valueHex: serial })
  for (const name of [cert.issuer, cert.subject]) {
    name.typesAndValues.push(
      new pkijs.AttributeTypeAndValue({
        type: OID.organization,
        value: new asn1js.Utf8String({ value: 'Flash Box' }),
      }),
      new pkijs.AttributeTypeAndValue({
        type: OID.commonName,
        value: new asn1js.Utf8String({ value: 'lnd' }),
      }),
    )
  }
  cert.notBefore.value = new Date(now.getTime() - 60_000) // tolerate small clock skew
  cert.notAfter.value = new Date(now.getTime() + VALIDITY_MS)

  const san = new pkijs.GeneralNames({
    names: [
      ...lndTlsNames.dns.map((value) => new pkijs.GeneralName({ type: 2, value })),
      ...lndTlsNames.ip.map(
        (ip) =>
          new pkijs.GeneralName({
            type: 7,
            value: new asn1js.OctetString({ valueHex: ipv4Bytes(ip) }),
          }),
      ),
    ],
  })
  const basic = new pkijs.BasicConstraints({ cA: true })
  // digitalSignature (bit 0) | keyEncipherment (bit 2) | keyCertSign (bit 5), as LND sets them.
  const keyUsageBits = new asn1js.BitString({
    valueHex: new Uint8Array([0b10100100]),
    unusedBits: 2,
  })
  const eku = new pkijs.ExtKeyUsage({ keyPurposes: [OID.serverAuth] })
  cert.extensions = [
    new pkijs.Extension({
      extnID: OID.subjectAltName,
      critical: false,
      extnValue: san.toSchema().toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID.basicConstraints,
      critical: true,
      extnValue: basic.toSchema().toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID.keyUsage,
      critical: true,
      extnValue: keyUsageBits.toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID.extKeyUsage,
      critical: false,
      extnValue: eku.toSchema().toBER(false),
    }),
  ]
  await cert.subjectPublicKeyInfo.importKey(keys.publicKey, engine)
  await cert.sign(keys.privateKey, 'SHA-256', engine)

  const der = new Uint8Array(cert.toSchema(true).toBER(false))
  const certPem = pem('CERTIFICATE', der)
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey))
  const keyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'sec1' })
    .toString()
  return { certPem, keyPem, sha256Thumbprint: certThumbprint(certPem) }
}
