// Coldcard's microSD flow, end to end on the world chain: the PSBT is written to the card's folder,
// an air-gapped signer holding a real BIP32 seed (standing in for the Coldcard: it reads NAME.psbt
// and writes NAME-part.psbt, binary, as the Coldcard does) signs it, Flash Box reads the answer,
// checks it, combines it with the backup key's signature, and the chain accepts the spend.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Chain } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, TestKey } from '../simulators/world/test-keys'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import {
  combinePsbts,
  finalizeVaultPsbt,
  vaultSpendPsbt,
} from '../../src/core/hardware/multisig/vault-psbt'
import {
  acceptSignedPsbt,
  psbtFileToBase64,
  readSignedFromCard,
  writePsbtToCard,
} from '../../src/core/hardware/coldcard-sd'

let card: string | undefined
afterEach(() => {
  if (card) rmSync(card, { recursive: true, force: true })
  card = undefined
})

/** The air-gapped signer: reads NAME.psbt from the card, signs with its seed, writes NAME-part.psbt. */
async function coldcardSigns(folder: string, name: string, seed: SeedSigner, vault: Vault) {
  const psbt = psbtFileToBase64(readFileSync(join(folder, `${name}.psbt`)))
  const signed = await seed.signPsbt(psbt, vault)
  writeFileSync(join(folder, `${name}-part.psbt`), Buffer.from(signed.psbt, 'base64'))
}

async function setup(payValue = 69_990_000n) {
  const coldcard = SeedSigner.fromSeed(new Uint8Array(32).fill(0xcc))
  const backup = SeedSigner.fromSeed(new Uint8Array(32).fill(0xbb))
  const third = SeedSigner.fromSeed(new Uint8Array(32).fill(0xdd))
  const vault: Vault = {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await coldcard.cosigner('regtest', 'Coldcard'),
      await backup.cosigner('regtest', 'Backup'),
      await third.cosigner('regtest', 'Third'),
    ],
  }
  const chain = new Chain()
  const alice = TestKey.fromLabel('alice')
  const cb = fundedKey(chain, alice)
  const a0 = vaultAddress(vault, 0, 0)
  const fund = alice.spend([cb], [{ script: a0.script, value: 70_000_000n }], 1)
  chain.submit(fund)
  chain.mine(1, BURN_SCRIPT)
  const psbt = vaultSpendPsbt(
    vault,
    [
      {
        txid: fund.getId(),
        vout: 0,
        value: 70_000_000n,
        chain: 0,
        index: 0,
        prevTxHex: fund.toHex(),
      },
    ],
    [{ address: TestKey.fromLabel('bob').p2wpkh().address, value: payValue }],
  )
  return { coldcard, backup, vault, chain, psbt }
}

describe('Coldcard by microSD card (no USB)', () => {
  it('round trip: export, sign on the card, load, combine, finalize; the chain accepts it', async () => {
    const { coldcard, backup, vault, chain, psbt } = await setup()
    card = mkdtempSync(join(tmpdir(), 'fb-sdcard-'))
    const path = writePsbtToCard(card, 'savings-1', psbt)
    expect(readFileSync(path).subarray(0, 5).toString('hex')).toBe('70736274ff')
    expect(readSignedFromCard(card, 'savings-1')).toBeUndefined()

    await coldcardSigns(card, 'savings-1', coldcard, vault)
    const answer = readSignedFromCard(card, 'savings-1')
    expect(answer?.kind).toBe('psbt')
    const accepted = acceptSignedPsbt(
      vault,
      psbt,
      (answer as { psbt: string }).psbt,
      await coldcard.fingerprint(),
    )
    expect(accepted.signedInputs).toEqual([0])
    const byBackup = await backup.signPsbt(psbt, vault)
    const final = finalizeVaultPsbt(vault, combinePsbts(vault, [accepted.psbt, byBackup.psbt]))
    expect(chain.submit(final.hex)).toBe(final.txid)
  })

  it('refuses a file for another transaction, a file with no signature from the card, and junk', async () => {
    const { coldcard, vault, psbt } = await setup()
    const fp = await coldcard.fingerprint()
    const other = (await setup(69_000_000n)).psbt
    const signedOther = await coldcard.signPsbt(other, vault)
    expect(() => acceptSignedPsbt(vault, psbt, signedOther.psbt, fp)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/sd.other_transaction/) }),
    )
    expect(() => acceptSignedPsbt(vault, psbt, psbt, fp)).toThrow(
      expect.objectContaining({ code: 'signer.wrong_seed' }),
    )
    expect(() => psbtFileToBase64(Buffer.from('hello'))).toThrow(
      expect.objectContaining({ code: 'sd.not_psbt' }),
    )
    // Base64 and hex files are read too.
    expect(psbtFileToBase64(Buffer.from(psbt + '\n'))).toBe(psbt)
    expect(psbtFileToBase64(Buffer.from(Buffer.from(psbt, 'base64').toString('hex')))).toBe(psbt)
  })
})
