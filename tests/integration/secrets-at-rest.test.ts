// Secrets at rest: a box set up the way an owner does it (mint and eCash wallet running before
// the password, eCash minted and a token sent, a Nostr key and LND's recovery words stored; then
// the password set, which seals everything under the box key), and then the whole data folder
// scanned for every seed, key, mnemonic, proof and token the box holds, in plain text, hex and
// base64. None may appear — including the key the mint container is handed (derived from the box
// key) and the eCash proofs' signatures. Also: the on-chain wallet's seed and passphrase, the NWC
// connections' and zapper keys (made before the password, sealed by the wallet service module on
// unlock), Tor's onion keys and a Ledger policy registration (plain before the password, sealed on
// unlock). Tor's own HiddenServiceDir is the one allowed clear copy (README), of onion keys only.
// The scanner is shown to find each kind when one is planted, so the test can fail.
import { createDecipheriv, scryptSync } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import * as nip19 from 'nostr-tools/nip19'
import { afterAll, describe, expect, it } from 'vitest'
import type { BackupStatus } from '../../src/shared/api/backup'
import type { MintStatus } from '../../src/shared/api/mint'
import { backupModule } from '../../src/core/backup/backup-module'
import { SeedFileStore, deriveWalletSeed } from '../../src/core/ecash/bip39-seed'
import { ecashModule } from '../../src/core/ecash/ecash-module'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { silentLogger } from '../../src/core/log'
import { mintModule } from '../../src/core/mint/mint-module'
import { Nip49KeyStore } from '../../src/core/nostr/nip49-keystore'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { MintQuoteView, SendResult } from '../../src/shared/api/ecash'
import { seedVaultPath } from '../../src/core/lightning/lightning-module'
import {
  createSeedVault,
  migrateSeedVaultFile,
  sealSeed,
  storeOnce,
} from '../../src/core/lightning/seed-vault'
import { walletServiceModule } from '../../src/core/lightning/wallet-service-module'
import { WalletServiceKeys } from '../../src/core/lightning/wallet-service-keys'
import { LedgerPolicyStore } from '../../src/core/hardware/drivers/ledger-policies'
import { hardwareModule } from '../../src/core/hardware/hardware-module'
import {
  loadOrCreateOnionKeys,
  sealOnionKeysFile,
  writeHiddenServiceDirs,
} from '../../src/core/reach/onion-store'
import { hiddenServiceFiles } from '../../src/core/reach/onion-keys'
import { openWalletSeed, sealWalletSeed } from '../../src/core/wallet/seed-sealing'
import { mnemonicToSeedSync } from '@scure/bip39'
import type { CreatedNwcConnection } from '../../src/shared/api/wallet-service'
import { findInClear } from './secrets-scan'

const ctx = { transport: 'internal' } as const
const dir = mkdtempSync(join(tmpdir(), 'secrets-at-rest-'))
let engine: Engine | undefined
afterAll(async () => {
  await engine?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('secrets at rest', () => {
  it('after setup, no seed, key or mnemonic of the box is on disk in clear', async () => {
    const mintDir = join(dir, 'stack', 'mint')
    mkdirSync(mintDir, { recursive: true })
    writeFileSync(
      join(mintDir, 'config.json'),
      JSON.stringify({ backend: { kind: 'fake', incomingPayDelayMs: 0, outgoingDelayMs: 0 } }),
    )
    engine = await createEngine({
      dataDir: dir,
      log: silentLogger,
      modules: [
        mintModule({ port: 0, placement: () => ({ mode: 'run', network: 'regtest' }) }),
        ecashModule({ backgroundIntervalMs: 0 }),
        backupModule(),
        hardwareModule(),
        walletServiceModule({ loopMs: 3_600_000, backoff: { initialMs: 60_000, maxMs: 60_000 } }),
      ],
    })
    const e = engine
    // Before a password: the mint's seed key sits beside it, the eCash words are plain.
    expect(((await e.call('mint', 'status', {}, ctx)) as MintStatus).running).toBe(true)
    await e.call('ecash', 'status', {}, ctx)
    const seedKeyFile = join(mintDir, 'secrets', 'seed.key')
    const oldMintKey = readFileSync(seedKeyFile, 'utf8').trim()
    const mnemonic = new SeedFileStore(join(dir, 'ecash')).read().mnemonic

    // eCash minted from the box's mint (fake Lightning pays at once), and a token sent.
    const quote = (await e.call('ecash', 'mintQuote', { amount: 64 }, ctx)) as MintQuoteView
    await until('the quote to be issued', async () => {
      const q = (await e.call(
        'ecash',
        'checkMintQuote',
        { quoteId: quote.quoteId },
        ctx,
      )) as MintQuoteView
      return q.state === 'issued'
    })
    const sent = (await e.call('ecash', 'send', { amount: 8 }, ctx)) as SendResult
    const walletDb = new DatabaseSync(join(dir, 'ecash', 'wallet.sqlite'), { readOnly: true })
    const proofSignatures = (
      walletDb.prepare("SELECT c FROM proofs WHERE state <> 'spent'").all() as { c: string }[]
    ).map((r) => r.c)
    walletDb.close()
    // (Spent proofs are left out: they are worthless, and the mint keeps them as spent.)
    expect(proofSignatures.length).toBeGreaterThan(1)
    expect(proofSignatures[0]).toMatch(/^0[23][0-9a-f]{64}$/) // plain before the password

    // A Nostr key and LND's recovery words, stored before the password as issue 10 left them.
    const nostr = new Nip49KeyStore(join(dir, 'nostr'), 16, boxKeyFor(dir))
    nostr.create('nostr passphrase', { recoveryWords: false, replace: false })
    const ncryptsec = JSON.parse(readFileSync(join(dir, 'nostr', 'identity.json'), 'utf8'))
      .ncryptsec as string
    const lndWords = Array.from(
      { length: 24 },
      (_, i) => `word${i}x${Math.random().toString(36).slice(2, 8)}`,
    )
    storeOnce(seedVaultPath(dir), await createSeedVault('owner password 1'))
    const lndSealed = join(dir, 'stack', 'secrets', 'lnd-seed.json')
    mkdirSync(join(dir, 'stack', 'secrets'), { recursive: true, mode: 0o700 })
    storeOnce(lndSealed, sealSeed(JSON.parse(readFileSync(seedVaultPath(dir), 'utf8')), lndWords))

    // An NWC connection made before the password (the keys file is plain until then).
    const nwc = (await e.call(
      'walletService',
      'createConnection',
      {
        name: 'Shop app',
        methods: ['get_balance'],
        budgetSat: null,
        budgetPeriod: 'total',
        relays: ['ws://127.0.0.1:9'],
      },
      ctx,
    )) as CreatedNwcConnection
    const nwcKeysPath = join(dir, 'secrets', 'wallet-service-keys.json')
    const nwcPlain = JSON.parse(readFileSync(nwcKeysPath, 'utf8')) as {
      version: number
      zapper: string
      connections: Record<string, string>
    }
    expect(nwcPlain.version).toBe(1)
    const nwcAppSecret = new URL(nwc.uri).searchParams.get('secret')!
    // Tor's onion keys and a Ledger registration, kept in clear before the password.
    const stackDir = join(dir, 'stack')
    const onion = loadOrCreateOnionKeys(stackDir, ['mint', 'relay'])
    writeHiddenServiceDirs(join(stackDir, 'tor', 'hs'), onion)
    const ledgerHmac = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff))
    new LedgerPolicyStore(dir, boxKeyFor(dir)).save(
      '1f2e3d4c',
      'cd'.repeat(32),
      'Shop savings vault',
      ledgerHmac,
    )

    const s = (await e.call(
      'backup',
      'setPassword',
      { password: 'owner password 1' },
      ctx,
    )) as BackupStatus
    expect(s.box).toBe('unlocked')
    await until('the mint to re-seal its seed', () => !existsSync(seedKeyFile))
    await until(
      'the mint to run again',
      async () => ((await e.call('mint', 'status', {}, ctx)) as MintStatus).running,
    )
    // What the Lightning module does when the owner types the password (ownerPasswordEntered).
    expect(await migrateSeedVaultFile(seedVaultPath(dir), 'owner password 1', boxKeyFor(dir))).toBe(
      true,
    )
    expect(JSON.parse(readFileSync(join(dir, 'nostr', 'identity.json'), 'utf8')).version).toBe(2)
    // The wallet service and hardware modules sealed their files on unlock; the stack module does
    // the same for the onion keys (called here as it calls it: it needs Docker).
    await until('the NWC keys to be sealed', () => {
      return JSON.parse(readFileSync(nwcKeysPath, 'utf8')).version === 2
    })
    expect(sealOnionKeysFile(stackDir, boxKeyFor(dir))).toBe(true)
    await until('the Ledger registrations to be sealed', () => {
      return (
        JSON.parse(readFileSync(join(dir, 'secrets', 'ledger-policies.json'), 'utf8')).version === 2
      )
    })
    // The on-chain wallet's seed, made after the password as the Wallet page does.
    const onchain = {
      mnemonic:
        'tenant cereal pulse crumble gown hover flock dumb rhythm brisk salon buyer cause zero vibrant',
      passphrase: 'wallet passphrase 25th word',
    }
    await sealWalletSeed(dir, 'owner password 1', onchain)
    expect(await openWalletSeed(dir, 'owner password 1')).toEqual(onchain)
    const nwcSealed = new WalletServiceKeys(nwcKeysPath, boxKeyFor(dir)).require()
    expect(nwcSealed).toEqual({ zapper: nwcPlain.zapper, connections: nwcPlain.connections })

    // Every secret, read back through the box key.
    const box = boxKeyFor(dir)
    const sealedMint = JSON.parse(readFileSync(join(mintDir, 'secrets', 'seed.enc'), 'utf8')) as {
      kdf: string
      salt: string
      iv: string
      tag: string
      data: string
    }
    expect(sealedMint.kdf).toBe('scrypt')
    const mintKey = scryptSync(
      box.subkey('mint.seed').toString('hex'),
      Buffer.from(sealedMint.salt, 'hex'),
      32,
      { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 },
    )
    const d = createDecipheriv('aes-256-gcm', mintKey, Buffer.from(sealedMint.iv, 'hex'))
    d.setAuthTag(Buffer.from(sealedMint.tag, 'hex'))
    const mintSeed = Buffer.concat([d.update(Buffer.from(sealedMint.data, 'hex')), d.final()])
    expect(new SeedFileStore(join(dir, 'ecash'), box).read().mnemonic).toBe(mnemonic)
    const wallet = deriveWalletSeed(mnemonic)
    const nostrKey = nostr.secretKey()
    const mintContainerKey = box.subkey('mint.seed')
    const secrets = {
      'eCash mnemonic': mnemonic,
      'eCash BIP-39 seed': wallet.seed,
      'eCash P2PK key': Buffer.from(wallet.p2pkPrivkey, 'hex'),
      'mint seed': mintSeed,
      'mint seed key (old key file)': Buffer.from(oldMintKey, 'hex'),
      'box key': box.exportKey(),
      'Nostr key': nostrKey,
      'Nostr nsec': nip19.nsecEncode(nostrKey),
      'Nostr ncryptsec': ncryptsec,
      'LND recovery words': lndWords.join(' '),
      'LND recovery word': lndWords[7]!,
      'mint container key': mintContainerKey,
      'eCash sent token': sent.token,
      ...Object.fromEntries(proofSignatures.map((c, i) => [`eCash proof C #${i}`, c])),
      'on-chain mnemonic': onchain.mnemonic,
      'on-chain passphrase': onchain.passphrase,
      'on-chain BIP39 seed': mnemonicToSeedSync(onchain.mnemonic, onchain.passphrase),
      'NWC zapper key': Buffer.from(nwcPlain.zapper, 'hex'),
      ...Object.fromEntries(
        Object.values(nwcPlain.connections).map((k, i) => [
          `NWC service key #${i}`,
          Buffer.from(k, 'hex'),
        ]),
      ),
      'NWC app secret': Buffer.from(nwcAppSecret, 'hex'),
      'Ledger policy HMAC': ledgerHmac,
      'Ledger vault name': 'Shop savings vault',
      ...Object.fromEntries(
        Object.entries(onion).flatMap(([n, k]) => [
          [`onion seed ${n}`, k.seed],
          [`onion expanded key ${n}`, hiddenServiceFiles(k).hs_ed25519_secret_key!.subarray(32)],
        ]),
      ),
    }
    nostr.dispose()
    await e.stop()
    engine = undefined

    // Tor reads its keys only as plain files in its HiddenServiceDir (README): the one place
    // allowed, and only for the onion keys.
    const torRuntime = join(stackDir, 'tor', 'hs') + '/'
    const isTorRuntime = (hit: string) =>
      hit.startsWith('onion expanded key ') && hit.split(' in ')[1]!.startsWith(torRuntime)
    const found = findInClear(dir, secrets)
    expect(found.filter(isTorRuntime).length).toBeGreaterThan(0)
    expect(found.filter((h) => !isTorRuntime(h))).toEqual([])
    // Files 0600 in 0700 folders.
    for (const f of [
      'secrets/box-key.json',
      'ecash/seed.json',
      'stack/mint/secrets/seed.enc',
      'secrets/wallet-seed.json',
      'secrets/wallet-service-keys.json',
      'secrets/ledger-policies.json',
      'stack/secrets/onion-keys.json',
    ])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600)
    for (const f of ['secrets', 'ecash', 'stack/mint/secrets', 'stack/secrets'])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o700)

    // The scan finds each kind when one is planted (in a text file, a database page, hex or not).
    const plant = join(dir, 'planted')
    mkdirSync(plant)
    writeFileSync(join(plant, 'notes.txt'), `words: ${mnemonic}\n`)
    writeFileSync(join(plant, 'page.bin'), Buffer.concat([Buffer.alloc(100), mintSeed]))
    writeFileSync(join(plant, 'key.json'), JSON.stringify({ k: bytesToHex(nostrKey) }))
    writeFileSync(join(plant, 'proof.json'), JSON.stringify({ C: proofSignatures[0] }))
    writeFileSync(join(plant, 'lnd.txt'), lndWords.join(' '))
    writeFileSync(join(plant, 'mint-key'), mintContainerKey.toString('hex'))
    writeFileSync(join(plant, 'identity.json'), JSON.stringify({ ncryptsec }))
    writeFileSync(join(plant, 'wallet-seed.json'), JSON.stringify(onchain))
    writeFileSync(join(plant, 'nwc.json'), JSON.stringify(nwcPlain))
    writeFileSync(join(plant, 'ledger.json'), JSON.stringify({ hmac: ledgerHmac.toString('hex') }))
    writeFileSync(join(plant, 'onion.json'), JSON.stringify({ seed: bytesToHex(onion.mint.seed) }))
    writeFileSync(
      join(plant, 'hs_ed25519_secret_key'),
      hiddenServiceFiles(onion.relay).hs_ed25519_secret_key!,
    )
    expect(
      findInClear(dir, secrets)
        .filter((h) => !isTorRuntime(h))
        .map((h) => h.split(' in ')[0])
        .sort(),
    ).toEqual(
      [
        'eCash mnemonic',
        'mint seed (raw)',
        'Nostr key (hex)',
        'eCash proof C #0',
        'LND recovery words',
        'LND recovery word',
        'mint container key (hex)',
        'Nostr ncryptsec',
        'on-chain mnemonic',
        'on-chain passphrase',
        'NWC zapper key (hex)',
        ...Object.keys(nwcPlain.connections).map((_, i) => `NWC service key #${i} (hex)`),
        'Ledger policy HMAC (hex)',
        'onion seed mint (hex)',
        'onion expanded key relay (raw)',
      ].sort(),
    )
  }, 120_000)
})
