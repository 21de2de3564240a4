// Whole-box round trip: fill a box (mint with eCash outstanding, relay events, eCash wallet, Nostr
// identity), back it up, wipe its data folder, restore on a fresh engine, and compare: the same
// mint keysets, a token minted before the backup spendable exactly once, the same relay events,
// the same eCash wallet key, the same Nostr identity. The relay and mint run as the engine's
// own processes (Docker and the LND/BTCPay parts are not in this test).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet, getEncodedToken } from '@cashu/cashu-ts'
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { BackupStatus } from '../../src/shared/api/backup'
import type { MintStatus } from '../../src/shared/api/mint'
import type { RelayStatus } from '../../src/shared/api/relay'
import { backupModule } from '../../src/core/backup/backup-module'
import { ecashModule } from '../../src/core/ecash/ecash-module'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { silentLogger } from '../../src/core/log'
import { mintModule } from '../../src/core/mint/mint-module'
import { Nip49KeyStore } from '../../src/core/nostr/nip49-keystore'
import { relayModule } from '../../src/core/relay/relay-module'

const ctx = { transport: 'internal' } as const
const PW = 'round trip owner password'
const root = mkdtempSync(join(tmpdir(), 'backup-round-trip-'))
const engines: Engine[] = []
afterAll(async () => {
  for (const e of engines) await e.stop().catch(() => undefined)
  rmSync(root, { recursive: true, force: true })
})

async function start(dir: string): Promise<Engine> {
  const e = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [
      relayModule({ port: 0, shouldRun: () => 'run', restartBaseMs: 100 }),
      mintModule({ port: 0, placement: () => ({ mode: 'run', network: 'regtest' }) }),
      ecashModule({ backgroundIntervalMs: 0 }),
      backupModule(),
    ],
  })
  engines.push(e)
  return e
}
async function stop(e: Engine) {
  await e.stop()
  engines.splice(engines.indexOf(e), 1)
}

function relayIds(url: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const ids: string[] = []
    ws.on('open', () => ws.send(JSON.stringify(['REQ', 's', { kinds: [1] }])))
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as [string, string, { id: string }]
      if (m[0] === 'EVENT') ids.push(m[2].id)
      if (m[0] === 'EOSE') {
        ws.close()
        resolve(ids.sort())
      }
    })
    ws.on('error', reject)
  })
}

function publish(url: string, ev: object): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('open', () => ws.send(JSON.stringify(['EVENT', ev])))
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as unknown[]
      if (m[0] === 'OK') {
        ws.close()
        resolve(m)
      }
    })
    ws.on('error', reject)
  })
}

describe('whole-box backup round trip', () => {
  it('every part comes back; a token minted before is spendable exactly once', async () => {
    const dirA = join(root, 'box')
    mkdirSync(join(dirA, 'stack', 'mint'), { recursive: true })
    writeFileSync(
      join(dirA, 'stack', 'mint', 'config.json'),
      JSON.stringify({ backend: { kind: 'fake', incomingPayDelayMs: 0, outgoingDelayMs: 0 } }),
    )
    const a = await start(dirA)
    await a.call('backup', 'setPassword', { password: PW }, ctx)
    await expect
      .poll(async () => ((await a.call('mint', 'status', {}, ctx)) as MintStatus).running, {
        timeout: 30_000,
      })
      .toBe(true)
    const mintBefore = (await a.call('mint', 'status', {}, ctx)) as MintStatus
    const relayBefore = (await a.call('relay', 'status', {}, ctx)) as RelayStatus

    // eCash outstanding: minted, and held outside the box as a token.
    const w = new Wallet(mintBefore.url!, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(64)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
    const proofs = await w.mintProofsBolt11(64, q)
    const token = getEncodedToken({ mint: mintBefore.url!, proofs })
    // Relay events, the eCash wallet's key, a Nostr identity.
    const key = generateSecretKey()
    for (let i = 0; i < 3; i++) {
      const ev = finalizeEvent(
        { kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: `note ${i}` },
        key,
      )
      expect((await publish(relayBefore.url!, ev))[2]).toBe(true)
    }
    const eventsBefore = await relayIds(relayBefore.url!)
    const { receivePubkey } = (await a.call('ecash', 'status', {}, ctx)) as {
      receivePubkey: string
    }
    const nostr = new Nip49KeyStore(join(dirA, 'nostr'))
    const npub = nostr.create('nostr passphrase', { recoveryWords: false, replace: false }).identity
      .npub

    const target = join(root, 'drive')
    await a.call('backup', 'configure', { target }, ctx)
    const archive = (await a.call('backup', 'backupNow', {}, ctx)) as { file: string }
    expect(((await a.call('backup', 'status', {}, ctx)) as BackupStatus).lastCheck?.ok).toBe(true)
    await stop(a)
    rmSync(dirA, { recursive: true, force: true }) // the disk died

    // A fresh install: restore, then start again (the restore is applied at start).
    const dirB = join(root, 'fresh')
    const b = await start(dirB)
    await b.call('backup', 'restore', { file: archive.file, password: PW }, ctx)
    await stop(b)
    const c = await start(dirB)
    expect(((await c.call('mint', 'status', {}, ctx)) as MintStatus).running).toBe(false)
    await c.call('backup', 'unlock', { password: PW }, ctx)
    await expect
      .poll(async () => ((await c.call('mint', 'status', {}, ctx)) as MintStatus).running, {
        timeout: 30_000,
      })
      .toBe(true)
    const mintAfter = (await c.call('mint', 'status', {}, ctx)) as MintStatus
    expect(mintAfter.keysets.map((k) => k.id)).toEqual(mintBefore.keysets.map((k) => k.id))
    expect(mintAfter.outstandingTotal).toBe(64)

    const relayAfter = (await c.call('relay', 'status', {}, ctx)) as RelayStatus
    expect(await relayIds(relayAfter.url!)).toEqual(eventsBefore)
    expect(
      ((await c.call('ecash', 'status', {}, ctx)) as { receivePubkey: string }).receivePubkey,
    ).toBe(receivePubkey)
    const nostrAfter = new Nip49KeyStore(join(dirB, 'nostr'))
    expect(nostrAfter.unlock('nostr passphrase').npub).toBe(npub)

    // The token minted before the backup: spendable once, then refused as spent.
    // The mint listens on a new port after the restore: the same proofs, addressed to it.
    expect(token.startsWith('cashu')).toBe(true)
    const moved = getEncodedToken({ mint: mintAfter.url!, proofs })
    const w2 = new Wallet(mintAfter.url!, { unit: 'sat' })
    await w2.loadMint()
    const got = await w2.receive(moved)
    expect(got.reduce((n, p) => n + Number(p.amount), 0)).toBe(64)
    await expect(w2.receive(moved)).rejects.toMatchObject({ code: 11001 })
  }, 180_000) // two engine starts with scrypt and the mint; slow on a busy machine
})
