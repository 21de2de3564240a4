// The SIMULATORS' building blocks checked against independent implementations and the specs:
// BOLT 11 requests parsed by ln-service's own parser (`invoices`) and by light-bolt11-decoder,
// real genesis block hashes, macaroon tampering, and the self-signed TLS certificate as
// OpenSSL (node:crypto) reads it.
import { X509Certificate, createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { decode as lightDecode } from 'light-bolt11-decoder'
import { describe, expect, it } from 'vitest'
import { decodeBolt11, encodeBolt11 } from '../simulators/bolt11'
import { SimulatedChain } from '../simulators/chain-simulator'
import { DEFAULT_MACAROONS, mintMacaroon, verifyMacaroon } from '../simulators/macaroon-v2'
import { createSelfSignedCert } from '../simulators/x509-self-signed'

// ln-service's BOLT 11 parser (a dependency of ln-service, resolved the way ln-service does).
const lnRequire = createRequire(createRequire(import.meta.url).resolve('ln-service'))
const { parsePaymentRequest } = lnRequire('invoices') as {
  parsePaymentRequest: (a: { request: string }) => {
    destination: string
    mtokens?: string
    id: string
    payment: string
    description?: string
    description_hash?: string
    network: string
    cltv_delta: number
    features: { bit: number }[]
  }
}

describe('BOLT 11 (SIMULATOR encoder)', () => {
  const key = secp256k1.utils.randomSecretKey()
  const payee = Buffer.from(secp256k1.getPublicKey(key)).toString('hex')
  const cases: { amountMsat?: bigint; network: 'mainnet' | 'regtest' | 'signet' | 'testnet4' }[] = [
    { network: 'regtest' },
    { network: 'regtest', amountMsat: 1n },
    { network: 'mainnet', amountMsat: 1_000n },
    { network: 'signet', amountMsat: 250_000_000n },
    { network: 'testnet4', amountMsat: 100_000_000_000n },
    { network: 'mainnet', amountMsat: 123_456_789n },
  ]
  for (const c of cases) {
    it(`${c.network} ${c.amountMsat ?? 'any'} msat is read alike by ln-service and light-bolt11-decoder`, () => {
      const hash = createHash('sha256').update(`preimage ${c.amountMsat}`).digest('hex')
      const secret = createHash('sha256').update(`secret ${c.amountMsat}`).digest('hex')
      const request = encodeBolt11({
        network: c.network,
        ...(c.amountMsat ? { amountMsat: c.amountMsat } : {}),
        timestamp: 1_700_000_000,
        paymentHash: hash,
        paymentSecret: secret,
        description: 'Flash Box ☕ test',
        expirySeconds: 3_600,
        minFinalCltvExpiry: 80,
        featureBits: [8, 14, 17],
        nodeSecretKey: key,
      })
      const parsed = parsePaymentRequest({ request })
      expect(parsed.destination).toBe(payee)
      expect(parsed.id).toBe(hash)
      expect(parsed.payment).toBe(secret)
      expect(parsed.description).toBe('Flash Box ☕ test')
      expect(parsed.cltv_delta).toBe(80)
      expect(parsed.mtokens ?? '0').toBe((c.amountMsat ?? 0n).toString())
      expect(parsed.features.map((f) => f.bit).sort((a, b) => a - b)).toEqual([8, 14, 17])

      const light = lightDecode(request)
      const section = (name: string) =>
        light.sections.find((s) => s.name === name) as { value?: unknown } | undefined
      expect(section('payment_hash')?.value).toBe(hash)
      if (c.amountMsat) expect(section('amount')?.value).toBe(c.amountMsat.toString())

      const ours = decodeBolt11(request)
      expect(ours).toMatchObject({
        payee,
        paymentHash: hash,
        paymentSecret: secret,
        network: c.network,
      })
      expect(ours.amountMsat).toBe(c.amountMsat)
    })
  }

  it('a description hash replaces the description', () => {
    const descriptionHash = createHash('sha256').update('{"long":"metadata"}').digest('hex')
    const request = encodeBolt11({
      network: 'regtest',
      amountMsat: 5_000n,
      timestamp: 1_700_000_000,
      paymentHash: '11'.repeat(32),
      paymentSecret: '22'.repeat(32),
      descriptionHash,
      expirySeconds: 600,
      minFinalCltvExpiry: 40,
      featureBits: [8, 14],
      nodeSecretKey: key,
    })
    expect(parsePaymentRequest({ request }).description_hash).toBe(descriptionHash)
    expect(decodeBolt11(request).descriptionHash).toBe(descriptionHash)
  })
})

describe('simulated chain', () => {
  it('starts at the real genesis blocks', () => {
    const genesis = (network: 'mainnet' | 'regtest' | 'signet' | 'testnet4') =>
      new SimulatedChain({ network, tipHeight: 0 }).tip.hash
    expect(genesis('mainnet')).toBe(
      '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    )
    expect(genesis('regtest')).toBe(
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    )
    expect(genesis('signet')).toBe(
      '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
    )
    expect(genesis('testnet4')).toBe(
      '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
    )
  })
})

describe('macaroons (SIMULATOR, V2 binary format)', () => {
  it('verifies its own, rejects another root key and a flipped identifier or signature byte', () => {
    const root = Buffer.alloc(32, 1)
    const mac = mintMacaroon(root, DEFAULT_MACAROONS.readonly)
    const ok = verifyMacaroon(root, mac)
    expect(ok.ok && ok.permissions.every((p) => p.action === 'read')).toBe(true)
    expect(verifyMacaroon(Buffer.alloc(32, 2), mac).ok).toBe(false)
    // (The location field is not authenticated in macaroons, so only identifier and signature.)
    for (const i of [12, Math.floor(mac.length / 2), mac.length - 1]) {
      const bad = Buffer.from(mac)
      bad[i] = bad[i]! ^ 0x01
      expect(verifyMacaroon(root, bad).ok).toBe(false)
    }
  })
})

describe('TLS certificate (SIMULATOR, LND-shaped)', () => {
  it('is a valid self-signed CA certificate for the names LND puts in it', () => {
    const made = createSelfSignedCert({
      commonName: 'lnd',
      dnsNames: ['localhost', 'lnd'],
      ips: ['127.0.0.1', '::1'],
    })
    const cert = new X509Certificate(made.certPem)
    expect(cert.ca).toBe(true)
    expect(cert.verify(cert.publicKey)).toBe(true)
    expect(cert.checkHost('lnd')).toBe('lnd')
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(cert.checkIP('::1')).toBe('::1')
    expect(cert.checkHost('example.com')).toBeUndefined()
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(Date.parse(cert.validTo)).toBeGreaterThan(Date.now() + 300 * 86_400_000)
  })
})
