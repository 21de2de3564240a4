import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateLndTls } from './lnd-tls'

// A random serial used to produce a non-minimal DER INTEGER once in ~512 certificates, which
// OpenSSL refuses; many certificates in a row must all parse.
describe('LND TLS certificate serial', () => {
  it('always encodes as a valid DER INTEGER', async () => {
    for (let i = 0; i < 300; i++) {
      const tls = await generateLndTls()
      expect(() => new X509Certificate(tls.certPem)).not.toThrow()
    }
  }, 60_000)
})
