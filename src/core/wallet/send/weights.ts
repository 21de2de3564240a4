// Transaction sizes in weight units (BIP141: weight = 3 × base size + total size; vsize =
// ceil(weight / 4)). Input sizes are for a spend with a low-R signature, as Bitcoin Core's wallet
// produces (71 bytes DER + sighash, src/wallet/wallet.cpp DummySignatureCreator) and Schnorr key
// path spends with SIGHASH_DEFAULT (64 bytes, BIP341).

/** The script types the box's wallet spends from. */
export type ScriptType = 'wpkh' | 'tr' | 'sh-wpkh' | 'pkh'

/** Bytes of a Bitcoin CompactSize integer. */
export function compactSizeLength(n: number): number {
  if (n < 0xfd) return 1
  if (n <= 0xffff) return 3
  if (n <= 0xffffffff) return 5
  return 9
}

// outpoint 36 + scriptSig length + sequence 4
const OUTPOINT_AND_SEQUENCE = 36 + 4

/**
 * Weight of one input of `type`, signed, including its witness. Legacy inputs in a segwit
 * transaction also carry an empty witness (one byte, counted here so estimates never fall short).
 */
export function inputWeight(type: ScriptType): number {
  switch (type) {
    case 'wpkh':
      // empty scriptSig; witness: 2 items, <sig 71> <pubkey 33>
      return (OUTPOINT_AND_SEQUENCE + 1) * 4 + (1 + 1 + 71 + 1 + 33)
    case 'tr':
      // empty scriptSig; witness: 1 item, <schnorr sig 64>
      return (OUTPOINT_AND_SEQUENCE + 1) * 4 + (1 + 1 + 64)
    case 'sh-wpkh':
      // scriptSig: push of the 22-byte witness program
      return (OUTPOINT_AND_SEQUENCE + 1 + 23) * 4 + (1 + 1 + 71 + 1 + 33)
    case 'pkh':
      // scriptSig: <sig 71> <pubkey 33>, empty witness
      return (OUTPOINT_AND_SEQUENCE + 1 + 1 + 71 + 1 + 33) * 4 + 1
  }
}

/** Weight of an output paying to `scriptLength` bytes of script. */
export function outputWeightForScript(scriptLength: number): number {
  return (8 + compactSizeLength(scriptLength) + scriptLength) * 4
}

/** Length of the output script of each type (what change outputs pay to). */
export const SCRIPT_LENGTH: Record<ScriptType, number> = {
  wpkh: 22,
  tr: 34,
  'sh-wpkh': 23,
  pkh: 25,
}

export function outputWeight(type: ScriptType): number {
  return outputWeightForScript(SCRIPT_LENGTH[type])
}

/**
 * Weight of everything that is neither an input nor an output: version, locktime, the two counts,
 * and the segwit marker and flag when any input has a witness.
 */
export function overheadWeight(inputs: number, outputs: number, segwit: boolean): number {
  return (4 + 4 + compactSizeLength(inputs) + compactSizeLength(outputs)) * 4 + (segwit ? 2 : 0)
}

export function isSegwit(type: ScriptType): boolean {
  return type !== 'pkh'
}

/** The weight of a whole transaction spending `inputs` and paying to output scripts of the given lengths. */
export function transactionWeight(
  inputs: readonly ScriptType[],
  outputScriptLengths: readonly number[],
): number {
  const segwit = inputs.some(isSegwit)
  let w = overheadWeight(inputs.length, outputScriptLengths.length, segwit)
  for (const t of inputs) w += inputWeight(t)
  for (const l of outputScriptLengths) w += outputWeightForScript(l)
  return w
}

export function vsizeOf(weight: number): number {
  return Math.ceil(weight / 4)
}

/**
 * Fee for `vbytes` at a fee rate in sat per 1000 vB, rounded up as Bitcoin Core does
 * (CFeeRate::GetFee), so a transaction never pays less than its stated rate.
 */
export function feeFor(satPerKvb: number, vbytes: number): number {
  return Math.ceil((satPerKvb * vbytes) / 1000)
}

/**
 * The dust threshold of an output script under the default dust relay fee (3 sat/vB): the cost
 * of creating and later spending it (Bitcoin Core policy.cpp GetDustThreshold). OP_RETURN
 * outputs are never dust.
 */
export function dustThreshold(script: Uint8Array, dustRelaySatPerKvb = 3000): number {
  if (script[0] === 0x6a) return 0
  let size = 8 + compactSizeLength(script.length) + script.length
  const isWitnessProgram =
    script.length >= 4 &&
    script.length <= 42 &&
    (script[0] === 0x00 || (script[0]! >= 0x51 && script[0]! <= 0x60)) &&
    script[1]! + 2 === script.length
  // 32 + 4 + 1 + 107 / 4 + 4 for a segwit spend; 32 + 4 + 1 + 107 + 4 for a legacy one
  size += isWitnessProgram ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4
  return Math.ceil((size * dustRelaySatPerKvb) / 1000)
}
