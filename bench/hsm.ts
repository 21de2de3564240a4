// Benchmark of the HSM cosigner (`npm run bench:hsm`) on a throw-away SoftHSM2 token:
// ECDSA signatures per second through the box's signer path (src/core/hardware: CKM_ECDSA on the
// token, then low-S normalisation — what cosignPsbt calls per input) against raw PKCS#11 calls
// (pkcs11js C_SignInit + C_Sign) on the same slot, session and key, alternating rounds, both timed
// in this process's CPU time (SoftHSM2 signs inside this process). Then the time to sign a
// 100-input vault PSBT with the HSM (sighashes, signing, a strict check of every signature).
// Knobs: BENCH_HSM_SIGS (2000 per round), BENCH_HSM_ROUNDS (5), BENCH_HSM_INPUTS (100).
import { randomBytes } from 'node:crypto'
import pkcs11js from 'pkcs11js'
import { Transaction } from 'bitcoinjs-lib'
import { z } from 'zod'
import { createSoftHsmToken } from '../tests/setup/softhsm'
import { TokenSession } from '../src/core/hardware/pkcs11/pkcs11-token'
import { generateSecp256k1Key, signDigest } from '../src/core/hardware/pkcs11/secp256k1-key'
import { HsmSigner } from '../src/core/hardware/hsm-signer'
import { SeedSigner } from '../src/core/hardware/seed-signer'
import { vaultAddress, type Vault } from '../src/core/hardware/multisig/vault'
import { vaultSpendPsbt } from '../src/core/hardware/multisig/vault-psbt'

const env = z
  .object({
    BENCH_HSM_SIGS: z.coerce.number().int().min(1).max(100_000).default(2_000),
    BENCH_HSM_ROUNDS: z.coerce.number().int().min(1).max(100).default(5),
    BENCH_HSM_INPUTS: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .parse(process.env)

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const token = createSoftHsmToken('bench-hsm')
const session = TokenSession.open({
  modulePath: token.modulePath,
  tokenSerial: token.serial,
  pin: token.pin,
})
try {
  const key = generateSecp256k1Key(session, 'bench')
  const digests = Array.from({ length: env.BENCH_HSM_SIGS }, () => randomBytes(32))

  const raw = () => {
    for (const d of digests) {
      session.lib.C_SignInit(session.session, { mechanism: pkcs11js.CKM_ECDSA }, key.privateHandle)
      session.lib.C_Sign(session.session, d, Buffer.alloc(64))
    }
  }
  let flipped = 0
  const box = () => {
    for (const d of digests) if (signDigest(session, key, d).normalised) flipped++
  }
  let rawMs = 0
  let boxMs = 0
  for (let r = 0; r < env.BENCH_HSM_ROUNDS; r++) {
    for (const [fn, add] of [
      [raw, (ms: number) => (rawMs += ms)],
      [box, (ms: number) => (boxMs += ms)],
    ] as const) {
      const t0 = cpuMs()
      fn()
      add(cpuMs() - t0)
    }
  }
  const n = env.BENCH_HSM_SIGS * env.BENCH_HSM_ROUNDS
  const rawRate = n / (rawMs / 1000)
  const boxRate = n / (boxMs / 1000)
  console.log(`raw PKCS#11 (C_SignInit + C_Sign): ${rawRate.toFixed(1)} signatures per CPU s`)
  console.log(
    `through the box (CKM_ECDSA + low-S): ${boxRate.toFixed(1)} signatures per CPU s (${flipped} of ${n} high-S normalised)`,
  )

  // A vault PSBT with BENCH_HSM_INPUTS inputs, signed by the HSM.
  const hsm = new HsmSigner(session, key)
  const vault: Vault = {
    name: 'bench',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await hsm.cosigner('regtest', 'HSM'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(1)).cosigner('regtest', 'A'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(2)).cosigner('regtest', 'B'),
    ],
  }
  const prev = new Transaction()
  prev.addInput(new Uint8Array(32).fill(7), 0)
  for (let i = 0; i < env.BENCH_HSM_INPUTS; i++)
    prev.addOutput(vaultAddress(vault, 0, i).script, 100_000n)
  const coins = Array.from({ length: env.BENCH_HSM_INPUTS }, (_, i) => ({
    txid: prev.getId(),
    vout: i,
    value: 100_000n,
    chain: 0 as const,
    index: i,
    prevTxHex: prev.toHex(),
  }))
  const psbt = vaultSpendPsbt(vault, coins, [
    {
      address: vaultAddress(vault, 0, 1000).address,
      value: BigInt(env.BENCH_HSM_INPUTS) * 99_000n,
    },
  ])
  const t0 = performance.now()
  const signed = await hsm.signPsbt(psbt, vault)
  const psbtMs = performance.now() - t0
  if (signed.signedInputs.length !== env.BENCH_HSM_INPUTS) throw new Error('not every input signed')
  console.log(
    `${env.BENCH_HSM_INPUTS}-input vault PSBT signed by the HSM: ${psbtMs.toFixed(0)} ms (${(psbtMs / env.BENCH_HSM_INPUTS).toFixed(2)} ms per input)`,
  )
  console.log(`HSM signing through the box vs raw PKCS#11: ${(boxRate / rawRate).toFixed(2)}`)
} finally {
  session.close()
  token.dispose()
}
