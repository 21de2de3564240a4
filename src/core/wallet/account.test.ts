// BIP84 and BIP86 test vectors (the "abandon … about" mnemonic), watch-only parsing, SLIP-132.
import { mnemonicToSeedSync } from '@scure/bip39'
import { describe, expect, it } from 'vitest'
import { AccountKeys, bip32, NETWORKS, seedAccount, watchOnlyAccount } from './account'

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
const seed = mnemonicToSeedSync(MNEMONIC)
const master = bip32.fromSeed(seed, NETWORKS.mainnet)

/** The "abandon … about" seed's account `n` of one script kind (mainnet unless said). */
const fromSeed = (
  kind: 'wpkh' | 'tr',
  opts: { network?: 'mainnet' | 'regtest'; account?: number; id?: string } = {},
) =>
  seedAccount({
    seed,
    network: opts.network ?? 'mainnet',
    kind,
    account: opts.account ?? 0,
    id: opts.id ?? 'a',
    name: (opts.id ?? 'a').toUpperCase(),
  })

describe('accounts from descriptors', () => {
  // BIP84 and BIP86 test vectors: the account xpub, the first receive and change addresses.
  it.each([
    {
      bip: 'BIP84',
      kind: 'wpkh' as const,
      xpub: 'xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V',
      path: "m/84'/0'/0'",
      receive: [
        'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
        'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g',
      ],
      change: 'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el',
      key: {
        pubkey: '0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c',
      } as Record<string, string>,
      descriptor: /^wpkh\(\[73c5da0a\/84'\/0'\/0'\]xpub6CatWd.*\/0\/\*\)#[a-z0-9]{8}$/,
    },
    {
      bip: 'BIP86',
      kind: 'tr' as const,
      xpub: 'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ',
      path: "m/86'/0'/0'",
      receive: ['bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr'],
      change: 'bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7',
      key: {
        tapInternalKey: 'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115',
      } as Record<string, string>,
      descriptor: /^tr\(\[73c5da0a\/86'\/0'\/0'\]xpub6BgBgs.*\/0\/\*\)#[a-z0-9]{8}$/,
    },
  ])('$bip: the account key and first addresses of the test vector', (v) => {
    const account = fromSeed(v.kind)
    const keys = new AccountKeys(account)
    expect(account.xpub).toBe(v.xpub)
    expect(account.origin).toEqual({ masterFingerprint: '73c5da0a', path: v.path })
    v.receive.forEach((address, i) => expect(keys.derive(0, i).address).toBe(address))
    expect(keys.derive(1, 0).address).toBe(v.change)
    expect(keys.derive(0, 0).derivation).toMatchObject(v.key)
    expect(account.receiveDescriptor).toMatch(v.descriptor)
  })

  it("child keys match bip32's own derive() on both chains, to the last index", () => {
    const account = fromSeed('wpkh')
    const keys = new AccountKeys(account)
    const node = bip32.fromBase58(account.xpub, NETWORKS.mainnet)
    for (const chain of [0, 1] as const) {
      for (const index of [0, 1, 2, 19, 20, 255, 256, 999, 65_536, 0x7fffffff]) {
        expect(keys.derive(chain, index).derivation.pubkey).toBe(
          Buffer.from(node.derive(chain).derive(index).publicKey).toString('hex'),
        )
      }
    }
    expect(() => keys.derive(0, 0x80000000)).toThrow(RangeError)
    expect(() => keys.derive(0, -1)).toThrow(RangeError)
  })

  it('several accounts: account 1 has other keys', () => {
    const a0 = fromSeed('wpkh', { network: 'regtest' })
    const a1 = fromSeed('wpkh', { network: 'regtest', account: 1, id: 'b' })
    expect(a0.origin.path).toBe("m/84'/1'/0'")
    expect(a1.origin.path).toBe("m/84'/1'/1'")
    expect(new AccountKeys(a0).derive(0, 0).address).toMatch(/^bcrt1q/)
    expect(new AccountKeys(a0).derive(0, 0).address).not.toBe(
      new AccountKeys(a1).derive(0, 0).address,
    )
  })

  it('watch-only from a zpub, an xpub and a descriptor give the same addresses', () => {
    const zpub =
      'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs'
    const fromZpub = watchOnlyAccount({ source: zpub, network: 'mainnet', id: 'w', name: 'W' })
    expect(new AccountKeys(fromZpub).derive(0, 0).address).toBe(
      'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
    )
    expect(fromZpub.source).toBe('watch-only')
    const seedAcc = fromSeed('wpkh')
    const fromDescriptor = watchOnlyAccount({
      source: seedAcc.receiveDescriptor,
      network: 'mainnet',
      id: 'w',
      name: 'W',
    })
    expect(fromDescriptor.origin).toEqual(seedAcc.origin)
    expect(fromDescriptor.changeDescriptor).toBe(seedAcc.changeDescriptor)
    expect(fromDescriptor.account).toBe(0)
    const multipath = watchOnlyAccount({
      source: `tr([73c5da0a/86h/0h/0h]${fromSeed('tr', { id: 't' }).xpub}/<0;1>/*)`,
      network: 'mainnet',
      id: 'w',
      name: 'W',
    })
    expect(new AccountKeys(multipath).derive(0, 0).address).toBe(
      'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
    )
  })

  it('refuses a private key, the wrong network, a bad checksum and other descriptors', () => {
    const seedAcc = fromSeed('wpkh')
    const w = (source: string, network: 'mainnet' | 'regtest' = 'mainnet') =>
      watchOnlyAccount({ source, network, id: 'w', name: 'W' })
    expect(() => w(master.toBase58())).toThrow(/private key/)
    expect(() => w(seedAcc.xpub, 'regtest')).toThrow(/mainnet key and this box runs on regtest/)
    expect(() => w(seedAcc.xpub.slice(0, -1) + (seedAcc.xpub.endsWith('a') ? 'b' : 'a'))).toThrow(
      /checksum/,
    )
    expect(() => w(seedAcc.receiveDescriptor.replace(/#.*/, '#aaaaaaaa'))).toThrow(
      /checksum does not match/,
    )
    expect(() => w(`sh(wpkh(${seedAcc.xpub}/0/*))`)).toThrow(/not a key or descriptor/)
  })
})
