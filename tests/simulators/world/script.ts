// SIMULATOR — test-only. Bitcoin script verification for the simulated chain (chain.ts): the
// interpreter of Bitcoin Core's src/script/interpreter.cpp for legacy, P2SH and segwit v0 scripts,
// and BIP341 key-path spends for taproot. Signatures are checked with libsecp256k1 compiled to
// WebAssembly (tiny-secp256k1) over the sighash of each script type (legacy, BIP143, BIP341),
// computed by bitcoinjs-lib. Error texts are Core's ScriptErrorString() so reject reasons match.
//
// Not modelled: tapscript (BIP342 script-path spends are refused as "not modelled"),
// OP_CODESEPARATOR positions inside executed scripts (the whole script is the scriptCode), the
// sigop limits, and FindAndDelete of signatures in legacy scriptCodes.
import { script as bscript, Transaction } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { createHash } from 'node:crypto'

export class ScriptError extends Error {
  constructor(readonly text: string) {
    super(text)
  }
}

/** Core's ScriptErrorString() texts for the errors this interpreter raises. */
export const SCRIPT_ERR = {
  EVAL_FALSE: 'Script evaluated without error but finished with a false/empty top stack element',
  OP_RETURN: 'OP_RETURN was encountered',
  SCRIPT_SIZE: 'Script is too big',
  PUSH_SIZE: 'Push value size limit exceeded',
  OP_COUNT: 'Operation limit exceeded',
  STACK_SIZE: 'Stack size limit exceeded',
  SIG_COUNT: 'Signature count negative or greater than pubkey count',
  PUBKEY_COUNT: 'Pubkey count negative or limit exceeded',
  VERIFY: 'Script failed an OP_VERIFY operation',
  EQUALVERIFY: 'Script failed an OP_EQUALVERIFY operation',
  CHECKMULTISIGVERIFY: 'Script failed an OP_CHECKMULTISIGVERIFY operation',
  CHECKSIGVERIFY: 'Script failed an OP_CHECKSIGVERIFY operation',
  NUMEQUALVERIFY: 'Script failed an OP_NUMEQUALVERIFY operation',
  BAD_OPCODE: 'Opcode missing or not understood',
  DISABLED_OPCODE: 'Attempted to use a disabled opcode',
  INVALID_STACK_OPERATION: 'Operation not valid with the current stack size',
  INVALID_ALTSTACK_OPERATION: 'Operation not valid with the current altstack size',
  UNBALANCED_CONDITIONAL: 'Invalid OP_IF construction',
  NEGATIVE_LOCKTIME: 'Negative locktime',
  UNSATISFIED_LOCKTIME: 'Locktime requirement not satisfied',
  SIG_HASHTYPE: 'Signature hash type missing or not understood',
  SIG_DER: 'Non-canonical DER signature',
  MINIMALDATA: 'Data push larger than necessary',
  SIG_PUSHONLY: 'Only push operators allowed in signatures',
  SIG_HIGH_S: 'Non-canonical signature: S value is unnecessarily high',
  SIG_NULLDUMMY: 'Dummy CHECKMULTISIG argument must be zero',
  PUBKEYTYPE: 'Public key is neither compressed or uncompressed',
  CLEANSTACK: 'Stack size must be exactly one after execution',
  MINIMALIF: 'OP_IF/NOTIF argument must be minimal',
  SIG_NULLFAIL: 'Signature must be zero for failed CHECK(MULTI)SIG operation',
  DISCOURAGE_UPGRADABLE_NOPS: 'NOPx reserved for soft-fork upgrades',
  DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: 'Witness version reserved for soft-fork upgrades',
  WITNESS_PROGRAM_WRONG_LENGTH: 'Witness program has incorrect length',
  WITNESS_PROGRAM_WITNESS_EMPTY: 'Witness program was passed an empty witness',
  WITNESS_PROGRAM_MISMATCH: 'Witness program hash mismatch',
  WITNESS_MALLEATED: 'Witness requires empty scriptSig',
  WITNESS_MALLEATED_P2SH: 'Witness requires only-redeemscript scriptSig',
  WITNESS_UNEXPECTED: 'Witness provided for non-witness script',
  WITNESS_PUBKEYTYPE: 'Using non-compressed keys in segwit',
  SCHNORR_SIG_SIZE: 'Invalid Schnorr signature size',
  SCHNORR_SIG_HASHTYPE: 'Invalid Schnorr signature hash type',
  SCHNORR_SIG: 'Invalid Schnorr signature',
  TAPSCRIPT_NOT_MODELLED: 'SIMULATOR: tapscript (taproot script-path) spends are not modelled',
} as const

/** What the script checker needs about the spending transaction and the coins it spends. */
export interface SpendContext {
  readonly tx: Transaction
  /** scriptPubKey and value of every input's coin, in input order (BIP341 commits to all). */
  readonly prevScripts: readonly Uint8Array[]
  readonly prevValues: readonly bigint[]
  /** Policy flags (standardness: NULLFAIL, LOW_S, STRICTENC, MINIMALDATA, CLEANSTACK, …) on top of consensus. */
  readonly policy: boolean
  /** BIP143 hashPrevouts / hashSequence / hashOutputs of this tx, filled on first use. */
  bip143?: { prevouts?: Buffer; sequences?: Buffer; outputs?: Buffer }
}

const OP = bscript.OPS
const MAX_SCRIPT_SIZE = 10000
const MAX_PUSH = 520
const MAX_OPS = 201
const MAX_STACK = 1000
const SEQUENCE_FINAL = 0xffffffff
const SEQUENCE_DISABLE = 0x80000000
const SEQUENCE_TYPE = 0x00400000
const SEQUENCE_MASK = 0x0000ffff
const LOCKTIME_THRESHOLD = 500000000

enum SigVersion {
  BASE,
  WITNESS_V0,
}

const EMPTY = new Uint8Array(0)
const TRUE = Uint8Array.of(1)
const sha256 = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest()
const hash160 = (b: Uint8Array): Uint8Array =>
  createHash('ripemd160').update(createHash('sha256').update(b).digest()).digest()

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function castToBool(v: Uint8Array): boolean {
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0) return !(i === v.length - 1 && v[i] === 0x80)
  }
  return false
}

function decodeNum(v: Uint8Array, maxLen: number, minimal: boolean): number {
  if (v.length > maxLen) throw new ScriptError('Script number overflow')
  if (v.length === 0) return 0
  if (minimal && (v[v.length - 1]! & 0x7f) === 0) {
    if (v.length <= 1 || (v[v.length - 2]! & 0x80) === 0) {
      throw new ScriptError('Non-minimally encoded script number')
    }
  }
  let result = 0
  for (let i = 0; i < v.length; i++) result += v[i]! * 2 ** (8 * i)
  if (v[v.length - 1]! & 0x80) return -(result - 0x80 * 2 ** (8 * (v.length - 1)))
  return result
}

function encodeNum(n: number): Uint8Array {
  if (n === 0) return EMPTY
  const neg = n < 0
  let abs = Math.abs(n)
  const out: number[] = []
  while (abs > 0) {
    out.push(abs & 0xff)
    abs = Math.floor(abs / 256)
  }
  if (out[out.length - 1]! & 0x80) out.push(neg ? 0x80 : 0)
  else if (neg) out[out.length - 1]! |= 0x80
  return Uint8Array.from(out)
}

interface Op {
  readonly op: number
  readonly data?: Uint8Array
}

/** Splits a script into opcodes and pushes; undefined when a push runs past the end. */
function parse(script: Uint8Array): Op[] | undefined {
  const ops: Op[] = []
  let i = 0
  while (i < script.length) {
    const op = script[i++]!
    if (op > 0 && op <= OP.OP_PUSHDATA4!) {
      let len = op
      if (op === OP.OP_PUSHDATA1) {
        if (i + 1 > script.length) return undefined
        len = script[i]!
        i += 1
      } else if (op === OP.OP_PUSHDATA2) {
        if (i + 2 > script.length) return undefined
        len = script[i]! | (script[i + 1]! << 8)
        i += 2
      } else if (op === OP.OP_PUSHDATA4) {
        if (i + 4 > script.length) return undefined
        len =
          script[i]! +
          script[i + 1]! * 0x100 +
          script[i + 2]! * 0x10000 +
          script[i + 3]! * 0x1000000
        i += 4
      }
      if (i + len > script.length) return undefined
      ops.push({ op, data: script.subarray(i, i + len) })
      i += len
    } else {
      ops.push({ op, data: op === 0 ? EMPTY : undefined })
    }
  }
  return ops
}

function isMinimalPush(op: number, data: Uint8Array): boolean {
  if (data.length === 0) return op === OP.OP_0
  if (data.length === 1 && data[0]! >= 1 && data[0]! <= 16) return false
  if (data.length === 1 && data[0] === 0x81) return false
  if (data.length <= 75) return op === data.length
  if (data.length <= 255) return op === OP.OP_PUSHDATA1
  if (data.length <= 65535) return op === OP.OP_PUSHDATA2
  return true
}

const hash256 = (b: Uint8Array): Buffer =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()

function varint(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n])
  if (n <= 0xffff) return Buffer.from([0xfd, n & 0xff, n >> 8])
  const b = Buffer.alloc(5)
  b[0] = 0xfe
  b.writeUInt32LE(n, 1)
  return b
}

function serializeOutput(o: { script: Uint8Array; value: bigint }): Buffer {
  const v = Buffer.alloc(8)
  v.writeBigInt64LE(o.value)
  return Buffer.concat([v, varint(o.script.length), o.script])
}

/**
 * BIP143's signature hash for segwit v0, with the per-transaction parts (hashPrevouts,
 * hashSequence, hashOutputs) computed once per transaction, as Core's PrecomputedTransactionData.
 */
export function bip143Sighash(
  ctx: SpendContext,
  index: number,
  scriptCode: Uint8Array,
  value: bigint,
  hashType: number,
): Buffer {
  const { tx } = ctx
  const cache = (ctx.bip143 ??= {})
  const anyoneCanPay = (hashType & 0x80) !== 0
  const base = hashType & 0x1f
  const zero = Buffer.alloc(32)
  let hashPrevouts: Buffer = zero
  if (!anyoneCanPay) {
    cache.prevouts ??= hash256(
      Buffer.concat(
        tx.ins.map((i) => {
          const b = Buffer.alloc(36)
          b.set(i.hash, 0)
          b.writeUInt32LE(i.index, 32)
          return b
        }),
      ),
    )
    hashPrevouts = cache.prevouts
  }
  let hashSequence: Buffer = zero
  if (!anyoneCanPay && base !== 2 && base !== 3) {
    cache.sequences ??= hash256(
      Buffer.concat(
        tx.ins.map((i) => {
          const b = Buffer.alloc(4)
          b.writeUInt32LE(i.sequence >>> 0)
          return b
        }),
      ),
    )
    hashSequence = cache.sequences
  }
  let hashOutputs: Buffer = zero
  if (base !== 2 && base !== 3) {
    cache.outputs ??= hash256(Buffer.concat(tx.outs.map(serializeOutput)))
    hashOutputs = cache.outputs
  } else if (base === 3 && index < tx.outs.length)
    hashOutputs = hash256(serializeOutput(tx.outs[index]!))
  const input = tx.ins[index]!
  const head = Buffer.alloc(4)
  head.writeUInt32LE(tx.version >>> 0)
  const outpoint = Buffer.alloc(36)
  outpoint.set(input.hash, 0)
  outpoint.writeUInt32LE(input.index, 32)
  const tail = Buffer.alloc(8 + 4)
  tail.writeBigInt64LE(value, 0)
  tail.writeUInt32LE(input.sequence >>> 0, 8)
  const end = Buffer.alloc(8)
  end.writeUInt32LE(tx.locktime >>> 0, 0)
  end.writeUInt32LE(hashType >>> 0, 4)
  return hash256(
    Buffer.concat([
      head,
      hashPrevouts,
      hashSequence,
      outpoint,
      varint(scriptCode.length),
      scriptCode,
      tail,
      hashOutputs,
      end,
    ]),
  )
}

/** True when every opcode is a push (OP_16 and below), as scriptSigs must be. */
export function isPushOnly(script: Uint8Array): boolean {
  const ops = parse(script)
  if (!ops) return false
  return ops.every((o) => o.op <= OP.OP_16!)
}

/** A witness program's version and program, or undefined (BIP141 "IsWitnessProgram"). */
export function witnessProgram(
  script: Uint8Array,
): { version: number; program: Uint8Array } | undefined {
  if (script.length < 4 || script.length > 42) return undefined
  const v = script[0]!
  if (v !== OP.OP_0 && (v < OP.OP_1! || v > OP.OP_16!)) return undefined
  if (script[1]! + 2 !== script.length) return undefined
  return { version: v === 0 ? 0 : v - (OP.OP_1! - 1), program: script.subarray(2) }
}

export function isP2SH(script: Uint8Array): boolean {
  return (
    script.length === 23 &&
    script[0] === OP.OP_HASH160 &&
    script[1] === 0x14 &&
    script[22] === OP.OP_EQUAL
  )
}

function p2pkhScript(hash: Uint8Array): Uint8Array {
  const s = new Uint8Array(25)
  s[0] = OP.OP_DUP!
  s[1] = OP.OP_HASH160!
  s[2] = 0x14
  s.set(hash, 3)
  s[23] = OP.OP_EQUALVERIFY!
  s[24] = OP.OP_CHECKSIG!
  return s
}

// BIP66 strict DER, as IsValidSignatureEncoding.
function isValidDer(sig: Uint8Array): boolean {
  if (sig.length < 9 || sig.length > 73) return false
  if (sig[0] !== 0x30 || sig[1] !== sig.length - 3) return false
  const lenR = sig[3]!
  if (5 + lenR >= sig.length) return false
  const lenS = sig[5 + lenR]!
  if (lenR + lenS + 7 !== sig.length) return false
  if (sig[2] !== 0x02 || lenR === 0 || sig[4]! & 0x80) return false
  if (lenR > 1 && sig[4] === 0 && !(sig[5]! & 0x80)) return false
  if (sig[lenR + 4] !== 0x02 || lenS === 0 || sig[lenR + 6]! & 0x80) return false
  if (lenS > 1 && sig[lenR + 6] === 0 && !(sig[lenR + 7]! & 0x80)) return false
  return true
}

const HALF_N = Buffer.from(
  '7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0',
  'hex',
)

function derToCompact(sig: Uint8Array): Uint8Array {
  const lenR = sig[3]!
  const r = sig.subarray(4, 4 + lenR)
  const lenS = sig[5 + lenR]!
  const s = sig.subarray(6 + lenR, 6 + lenR + lenS)
  const out = new Uint8Array(64)
  const rr = r.length > 32 ? r.subarray(r.length - 32) : r
  const ss = s.length > 32 ? s.subarray(s.length - 32) : s
  out.set(rr, 32 - rr.length)
  out.set(ss, 64 - ss.length)
  return out
}

function isLowS(compact: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(compact.subarray(32)), HALF_N) <= 0
}

function isDefinedHashType(t: number): boolean {
  const base = t & ~0x80
  return base >= 1 && base <= 3
}

function isCompressedOrUncompressed(pub: Uint8Array): boolean {
  if (pub.length === 33) return pub[0] === 2 || pub[0] === 3
  if (pub.length === 65) return pub[0] === 4
  return false
}

class Interpreter {
  constructor(
    private readonly ctx: SpendContext,
    private readonly index: number,
  ) {}

  /** ECDSA check of one signature against the sighash of this input; throws on encoding errors. */
  private checkEcdsa(
    sigWithType: Uint8Array,
    pubkey: Uint8Array,
    scriptCode: Uint8Array,
    sv: SigVersion,
  ): boolean {
    const { policy } = this.ctx
    if (sigWithType.length === 0) return false
    const der = sigWithType.subarray(0, sigWithType.length - 1)
    const hashType = sigWithType[sigWithType.length - 1]!
    if (!isValidDer(sigWithType)) throw new ScriptError(SCRIPT_ERR.SIG_DER)
    const compact = derToCompact(der)
    if (policy && !isLowS(compact)) throw new ScriptError(SCRIPT_ERR.SIG_HIGH_S)
    if (policy && !isDefinedHashType(hashType)) throw new ScriptError(SCRIPT_ERR.SIG_HASHTYPE)
    if (policy && !isCompressedOrUncompressed(pubkey)) throw new ScriptError(SCRIPT_ERR.PUBKEYTYPE)
    if (policy && sv === SigVersion.WITNESS_V0 && !(pubkey.length === 33))
      throw new ScriptError(SCRIPT_ERR.WITNESS_PUBKEYTYPE)
    const { tx } = this.ctx
    const hash =
      sv === SigVersion.WITNESS_V0
        ? bip143Sighash(
            this.ctx,
            this.index,
            scriptCode,
            this.ctx.prevValues[this.index]!,
            hashType,
          )
        : tx.hashForSignature(this.index, scriptCode, hashType)
    try {
      return ecc.verify(hash, pubkey, compact)
    } catch {
      return false
    }
  }

  run(script: Uint8Array, stack: Uint8Array[], sv: SigVersion): void {
    const { policy, tx } = this.ctx
    if (script.length > MAX_SCRIPT_SIZE) throw new ScriptError(SCRIPT_ERR.SCRIPT_SIZE)
    const ops = parse(script)
    if (!ops) throw new ScriptError(SCRIPT_ERR.BAD_OPCODE)
    const exec: boolean[] = []
    const alt: Uint8Array[] = []
    let opCount = 0
    const need = (n: number): void => {
      if (stack.length < n) throw new ScriptError(SCRIPT_ERR.INVALID_STACK_OPERATION)
    }
    const top = (i: number): Uint8Array => stack[stack.length + i]!
    const num = (v: Uint8Array, len = 4): number => decodeNum(v, len, policy)
    const minimalIf = policy && sv === SigVersion.WITNESS_V0
    for (const { op, data } of ops) {
      const executing = !exec.includes(false)
      if (data && data.length > MAX_PUSH) throw new ScriptError(SCRIPT_ERR.PUSH_SIZE)
      if (op > OP.OP_16! && ++opCount > MAX_OPS) throw new ScriptError(SCRIPT_ERR.OP_COUNT)
      if (
        op === OP.OP_CAT ||
        op === OP.OP_SUBSTR ||
        op === OP.OP_LEFT ||
        op === OP.OP_RIGHT ||
        op === OP.OP_INVERT ||
        op === OP.OP_AND ||
        op === OP.OP_OR ||
        op === OP.OP_XOR ||
        op === OP.OP_2MUL ||
        op === OP.OP_2DIV ||
        op === OP.OP_MUL ||
        op === OP.OP_DIV ||
        op === OP.OP_MOD ||
        op === OP.OP_LSHIFT ||
        op === OP.OP_RSHIFT
      )
        throw new ScriptError(SCRIPT_ERR.DISABLED_OPCODE)
      if (data !== undefined) {
        if (executing) {
          if (policy && !isMinimalPush(op, data)) throw new ScriptError(SCRIPT_ERR.MINIMALDATA)
          stack.push(data)
        }
      } else if (executing || (op >= OP.OP_IF! && op <= OP.OP_ENDIF!)) {
        switch (op) {
          case OP.OP_1NEGATE:
            stack.push(encodeNum(-1))
            break
          case OP.OP_NOP:
            break
          case OP.OP_IF:
          case OP.OP_NOTIF: {
            let value = false
            if (executing) {
              need(1)
              const v = top(-1)
              if (minimalIf && (v.length > 1 || (v.length === 1 && v[0] !== 1)))
                throw new ScriptError(SCRIPT_ERR.MINIMALIF)
              value = castToBool(v)
              if (op === OP.OP_NOTIF) value = !value
              stack.pop()
            }
            exec.push(value)
            break
          }
          case OP.OP_ELSE:
            if (exec.length === 0) throw new ScriptError(SCRIPT_ERR.UNBALANCED_CONDITIONAL)
            exec[exec.length - 1] = !exec[exec.length - 1]
            break
          case OP.OP_ENDIF:
            if (exec.length === 0) throw new ScriptError(SCRIPT_ERR.UNBALANCED_CONDITIONAL)
            exec.pop()
            break
          case OP.OP_VERIFY:
            need(1)
            if (!castToBool(top(-1))) throw new ScriptError(SCRIPT_ERR.VERIFY)
            stack.pop()
            break
          case OP.OP_RETURN:
            throw new ScriptError(SCRIPT_ERR.OP_RETURN)
          case OP.OP_TOALTSTACK:
            need(1)
            alt.push(stack.pop()!)
            break
          case OP.OP_FROMALTSTACK:
            if (alt.length === 0) throw new ScriptError(SCRIPT_ERR.INVALID_ALTSTACK_OPERATION)
            stack.push(alt.pop()!)
            break
          case OP.OP_2DROP:
            need(2)
            stack.length -= 2
            break
          case OP.OP_2DUP:
            need(2)
            stack.push(top(-2), top(-1))
            break
          case OP.OP_3DUP:
            need(3)
            stack.push(top(-3), top(-2), top(-1))
            break
          case OP.OP_2OVER:
            need(4)
            stack.push(top(-4), top(-3))
            break
          case OP.OP_2ROT: {
            need(6)
            const [a, b] = stack.splice(stack.length - 6, 2)
            stack.push(a!, b!)
            break
          }
          case OP.OP_2SWAP: {
            need(4)
            const [a, b] = stack.splice(stack.length - 4, 2)
            stack.push(a!, b!)
            break
          }
          case OP.OP_IFDUP:
            need(1)
            if (castToBool(top(-1))) stack.push(top(-1))
            break
          case OP.OP_DEPTH:
            stack.push(encodeNum(stack.length))
            break
          case OP.OP_DROP:
            need(1)
            stack.pop()
            break
          case OP.OP_DUP:
            need(1)
            stack.push(top(-1))
            break
          case OP.OP_NIP:
            need(2)
            stack.splice(stack.length - 2, 1)
            break
          case OP.OP_OVER:
            need(2)
            stack.push(top(-2))
            break
          case OP.OP_PICK:
          case OP.OP_ROLL: {
            need(2)
            const n = num(stack.pop()!)
            if (n < 0 || n >= stack.length)
              throw new ScriptError(SCRIPT_ERR.INVALID_STACK_OPERATION)
            const v = top(-n - 1)
            if (op === OP.OP_ROLL) stack.splice(stack.length - n - 1, 1)
            stack.push(v)
            break
          }
          case OP.OP_ROT: {
            need(3)
            const [a] = stack.splice(stack.length - 3, 1)
            stack.push(a!)
            break
          }
          case OP.OP_SWAP: {
            need(2)
            const a = stack.pop()!
            const b = stack.pop()!
            stack.push(a, b)
            break
          }
          case OP.OP_TUCK: {
            need(2)
            const a = top(-1)
            stack.splice(stack.length - 2, 0, a)
            break
          }
          case OP.OP_SIZE:
            need(1)
            stack.push(encodeNum(top(-1).length))
            break
          case OP.OP_EQUAL:
          case OP.OP_EQUALVERIFY: {
            need(2)
            const eq = equalBytes(stack.pop()!, stack.pop()!)
            if (op === OP.OP_EQUALVERIFY) {
              if (!eq) throw new ScriptError(SCRIPT_ERR.EQUALVERIFY)
            } else stack.push(eq ? TRUE : EMPTY)
            break
          }
          case OP.OP_1ADD:
          case OP.OP_1SUB:
          case OP.OP_NEGATE:
          case OP.OP_ABS:
          case OP.OP_NOT:
          case OP.OP_0NOTEQUAL: {
            need(1)
            let n = num(stack.pop()!)
            if (op === OP.OP_1ADD) n += 1
            else if (op === OP.OP_1SUB) n -= 1
            else if (op === OP.OP_NEGATE) n = -n
            else if (op === OP.OP_ABS) n = Math.abs(n)
            else if (op === OP.OP_NOT) n = n === 0 ? 1 : 0
            else n = n !== 0 ? 1 : 0
            stack.push(encodeNum(n))
            break
          }
          case OP.OP_ADD:
          case OP.OP_SUB:
          case OP.OP_BOOLAND:
          case OP.OP_BOOLOR:
          case OP.OP_NUMEQUAL:
          case OP.OP_NUMEQUALVERIFY:
          case OP.OP_NUMNOTEQUAL:
          case OP.OP_LESSTHAN:
          case OP.OP_GREATERTHAN:
          case OP.OP_LESSTHANOREQUAL:
          case OP.OP_GREATERTHANOREQUAL:
          case OP.OP_MIN:
          case OP.OP_MAX: {
            need(2)
            const b = num(stack.pop()!)
            const a = num(stack.pop()!)
            const r: Record<number, number> = {
              [OP.OP_ADD!]: a + b,
              [OP.OP_SUB!]: a - b,
              [OP.OP_BOOLAND!]: a !== 0 && b !== 0 ? 1 : 0,
              [OP.OP_BOOLOR!]: a !== 0 || b !== 0 ? 1 : 0,
              [OP.OP_NUMEQUAL!]: a === b ? 1 : 0,
              [OP.OP_NUMEQUALVERIFY!]: a === b ? 1 : 0,
              [OP.OP_NUMNOTEQUAL!]: a !== b ? 1 : 0,
              [OP.OP_LESSTHAN!]: a < b ? 1 : 0,
              [OP.OP_GREATERTHAN!]: a > b ? 1 : 0,
              [OP.OP_LESSTHANOREQUAL!]: a <= b ? 1 : 0,
              [OP.OP_GREATERTHANOREQUAL!]: a >= b ? 1 : 0,
              [OP.OP_MIN!]: Math.min(a, b),
              [OP.OP_MAX!]: Math.max(a, b),
            }
            if (op === OP.OP_NUMEQUALVERIFY) {
              if (a !== b) throw new ScriptError(SCRIPT_ERR.NUMEQUALVERIFY)
            } else stack.push(encodeNum(r[op]!))
            break
          }
          case OP.OP_WITHIN: {
            need(3)
            const max = num(stack.pop()!)
            const min = num(stack.pop()!)
            const x = num(stack.pop()!)
            stack.push(x >= min && x < max ? TRUE : EMPTY)
            break
          }
          case OP.OP_RIPEMD160:
            need(1)
            stack.push(createHash('ripemd160').update(stack.pop()!).digest())
            break
          case OP.OP_SHA1:
            need(1)
            stack.push(createHash('sha1').update(stack.pop()!).digest())
            break
          case OP.OP_SHA256:
            need(1)
            stack.push(sha256(stack.pop()!))
            break
          case OP.OP_HASH160:
            need(1)
            stack.push(hash160(stack.pop()!))
            break
          case OP.OP_HASH256:
            need(1)
            stack.push(sha256(sha256(stack.pop()!)))
            break
          case OP.OP_CODESEPARATOR:
            break
          case OP.OP_CHECKSIG:
          case OP.OP_CHECKSIGVERIFY: {
            need(2)
            const pub = stack.pop()!
            const sig = stack.pop()!
            const ok = this.checkEcdsa(sig, pub, script, sv)
            if (!ok && policy && sig.length > 0) throw new ScriptError(SCRIPT_ERR.SIG_NULLFAIL)
            if (op === OP.OP_CHECKSIGVERIFY) {
              if (!ok) throw new ScriptError(SCRIPT_ERR.CHECKSIGVERIFY)
            } else stack.push(ok ? TRUE : EMPTY)
            break
          }
          case OP.OP_CHECKMULTISIG:
          case OP.OP_CHECKMULTISIGVERIFY: {
            need(1)
            const nKeys = num(stack.pop()!)
            if (nKeys < 0 || nKeys > 20) throw new ScriptError(SCRIPT_ERR.PUBKEY_COUNT)
            opCount += nKeys
            if (opCount > MAX_OPS) throw new ScriptError(SCRIPT_ERR.OP_COUNT)
            need(nKeys + 1)
            const keys = stack.splice(stack.length - nKeys, nKeys).reverse()
            const nSigs = num(stack.pop()!)
            if (nSigs < 0 || nSigs > nKeys) throw new ScriptError(SCRIPT_ERR.SIG_COUNT)
            need(nSigs + 1)
            const sigs = stack.splice(stack.length - nSigs, nSigs).reverse()
            const dummy = stack.pop()!
            if (policy && dummy.length !== 0) throw new ScriptError(SCRIPT_ERR.SIG_NULLDUMMY)
            // Signatures must appear in the same order as their keys (Core's loop).
            let ok = true
            let k = 0
            let s = 0
            while (ok && s < sigs.length) {
              if (this.checkEcdsa(sigs[s]!, keys[k]!, script, sv)) s++
              k++
              if (sigs.length - s > keys.length - k) ok = false
            }
            if (!ok && policy && sigs.some((x) => x.length > 0))
              throw new ScriptError(SCRIPT_ERR.SIG_NULLFAIL)
            if (op === OP.OP_CHECKMULTISIGVERIFY) {
              if (!ok) throw new ScriptError(SCRIPT_ERR.CHECKMULTISIGVERIFY)
            } else stack.push(ok ? TRUE : EMPTY)
            break
          }
          case OP.OP_CHECKLOCKTIMEVERIFY: {
            need(1)
            const lock = decodeNum(top(-1), 5, policy)
            if (lock < 0) throw new ScriptError(SCRIPT_ERR.NEGATIVE_LOCKTIME)
            const txLock = tx.locktime
            const sameKind =
              (txLock < LOCKTIME_THRESHOLD && lock < LOCKTIME_THRESHOLD) ||
              (txLock >= LOCKTIME_THRESHOLD && lock >= LOCKTIME_THRESHOLD)
            if (!sameKind || lock > txLock || tx.ins[this.index]!.sequence === SEQUENCE_FINAL)
              throw new ScriptError(SCRIPT_ERR.UNSATISFIED_LOCKTIME)
            break
          }
          case OP.OP_CHECKSEQUENCEVERIFY: {
            need(1)
            const seq = decodeNum(top(-1), 5, policy)
            if (seq < 0) throw new ScriptError(SCRIPT_ERR.NEGATIVE_LOCKTIME)
            if (Math.floor(seq / SEQUENCE_DISABLE) % 2 === 0) {
              const txSeq = tx.ins[this.index]!.sequence
              const mask = SEQUENCE_TYPE | SEQUENCE_MASK
              if (
                tx.version < 2 ||
                (txSeq & SEQUENCE_DISABLE) !== 0 ||
                (txSeq & SEQUENCE_TYPE) !== (seq & SEQUENCE_TYPE) ||
                (seq & mask) > (txSeq & mask)
              )
                throw new ScriptError(SCRIPT_ERR.UNSATISFIED_LOCKTIME)
            }
            break
          }
          case OP.OP_NOP1:
          case OP.OP_NOP4:
          case OP.OP_NOP5:
          case OP.OP_NOP6:
          case OP.OP_NOP7:
          case OP.OP_NOP8:
          case OP.OP_NOP9:
          case OP.OP_NOP10:
            if (policy) throw new ScriptError(SCRIPT_ERR.DISCOURAGE_UPGRADABLE_NOPS)
            break
          default:
            if (op >= OP.OP_1! && op <= OP.OP_16!) {
              stack.push(encodeNum(op - (OP.OP_1! - 1)))
              break
            }
            throw new ScriptError(SCRIPT_ERR.BAD_OPCODE)
        }
      }
      if (stack.length + alt.length > MAX_STACK) throw new ScriptError(SCRIPT_ERR.STACK_SIZE)
    }
    if (exec.length !== 0) throw new ScriptError(SCRIPT_ERR.UNBALANCED_CONDITIONAL)
  }

  /** BIP141 / BIP341 witness program execution (VerifyWitnessProgram). */
  witness(witness: Uint8Array[], version: number, program: Uint8Array, p2sh: boolean): void {
    const { policy } = this.ctx
    if (version === 0) {
      let script: Uint8Array
      let stack: Uint8Array[]
      if (program.length === 32) {
        if (witness.length === 0) throw new ScriptError(SCRIPT_ERR.WITNESS_PROGRAM_WITNESS_EMPTY)
        script = witness[witness.length - 1]!
        if (!equalBytes(sha256(script), program))
          throw new ScriptError(SCRIPT_ERR.WITNESS_PROGRAM_MISMATCH)
        stack = witness.slice(0, -1)
      } else if (program.length === 20) {
        if (witness.length !== 2) throw new ScriptError(SCRIPT_ERR.WITNESS_PROGRAM_MISMATCH)
        script = p2pkhScript(program)
        stack = witness.slice()
      } else throw new ScriptError(SCRIPT_ERR.WITNESS_PROGRAM_WRONG_LENGTH)
      for (const item of stack)
        if (item.length > MAX_PUSH) throw new ScriptError(SCRIPT_ERR.PUSH_SIZE)
      this.run(script, stack, SigVersion.WITNESS_V0)
      if (stack.length !== 1) throw new ScriptError(SCRIPT_ERR.CLEANSTACK)
      if (!castToBool(stack[0]!)) throw new ScriptError(SCRIPT_ERR.EVAL_FALSE)
      return
    }
    if (version === 1 && program.length === 32 && !p2sh) {
      this.taprootKeyPath(witness, program)
      return
    }
    // Pay-to-anchor (BIP-less, Core v28+): OP_1 <4e73>, spendable with an empty witness.
    if (
      version === 1 &&
      program.length === 2 &&
      program[0] === 0x4e &&
      program[1] === 0x73 &&
      !p2sh
    )
      return
    if (policy) throw new ScriptError(SCRIPT_ERR.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM)
  }

  private taprootKeyPath(witness: Uint8Array[], outputKey: Uint8Array): void {
    if (witness.length === 0) throw new ScriptError(SCRIPT_ERR.WITNESS_PROGRAM_WITNESS_EMPTY)
    let items = witness
    let annex: Uint8Array | undefined
    if (items.length >= 2 && items[items.length - 1]![0] === 0x50) {
      annex = items[items.length - 1]!
      items = items.slice(0, -1)
    }
    if (items.length !== 1) throw new ScriptError(SCRIPT_ERR.TAPSCRIPT_NOT_MODELLED)
    const sig = items[0]!
    let hashType = 0
    let sig64 = sig
    if (sig.length === 65) {
      hashType = sig[64]!
      if (hashType === 0 || !isDefinedHashType(hashType))
        throw new ScriptError(SCRIPT_ERR.SCHNORR_SIG_HASHTYPE)
      sig64 = sig.subarray(0, 64)
    } else if (sig.length !== 64) throw new ScriptError(SCRIPT_ERR.SCHNORR_SIG_SIZE)
    const { tx, prevScripts, prevValues } = this.ctx
    if ((hashType & 3) === Transaction.SIGHASH_SINGLE && this.index >= tx.outs.length)
      throw new ScriptError(SCRIPT_ERR.SCHNORR_SIG_HASHTYPE)
    const hash = tx.hashForWitnessV1(
      this.index,
      prevScripts as Uint8Array[],
      prevValues as bigint[],
      hashType,
      undefined,
      annex,
    )
    let ok: boolean
    try {
      ok = ecc.verifySchnorr(hash, outputKey, sig64)
    } catch {
      ok = false
    }
    if (!ok) throw new ScriptError(SCRIPT_ERR.SCHNORR_SIG)
  }
}

/**
 * Verifies input `index` of `ctx.tx` (Core's VerifyScript with P2SH, WITNESS, TAPROOT and, under
 * `policy`, the standard flags). Throws ScriptError with Core's error text.
 */
export function verifyInput(ctx: SpendContext, index: number): void {
  const input = ctx.tx.ins[index]!
  const scriptSig = input.script
  const scriptPubKey = ctx.prevScripts[index]!
  const witness = input.witness ?? []
  const it = new Interpreter(ctx, index)
  if (ctx.policy && !isPushOnly(scriptSig)) throw new ScriptError(SCRIPT_ERR.SIG_PUSHONLY)
  const stack: Uint8Array[] = []
  it.run(scriptSig, stack, SigVersion.BASE)
  const copy = stack.slice()
  it.run(scriptPubKey, stack, SigVersion.BASE)
  if (stack.length === 0 || !castToBool(stack[stack.length - 1]!))
    throw new ScriptError(SCRIPT_ERR.EVAL_FALSE)
  let hadWitness = false
  let finalStack = stack
  const wp = witnessProgram(scriptPubKey)
  if (wp) {
    hadWitness = true
    if (scriptSig.length !== 0) throw new ScriptError(SCRIPT_ERR.WITNESS_MALLEATED)
    it.witness(witness, wp.version, wp.program, false)
    finalStack = [TRUE]
  }
  if (isP2SH(scriptPubKey)) {
    if (!isPushOnly(scriptSig)) throw new ScriptError(SCRIPT_ERR.SIG_PUSHONLY)
    const p2shStack = copy
    if (p2shStack.length === 0) throw new ScriptError(SCRIPT_ERR.EVAL_FALSE)
    const redeem = p2shStack.pop()!
    it.run(redeem, p2shStack, SigVersion.BASE)
    if (p2shStack.length === 0 || !castToBool(p2shStack[p2shStack.length - 1]!))
      throw new ScriptError(SCRIPT_ERR.EVAL_FALSE)
    finalStack = p2shStack
    const rwp = witnessProgram(redeem)
    if (rwp) {
      hadWitness = true
      const expected = bscript.compile([redeem])
      if (!equalBytes(scriptSig, expected)) throw new ScriptError(SCRIPT_ERR.WITNESS_MALLEATED_P2SH)
      it.witness(witness, rwp.version, rwp.program, true)
      finalStack = [TRUE]
    }
  }
  if (ctx.policy && finalStack.length !== 1) throw new ScriptError(SCRIPT_ERR.CLEANSTACK)
  if (!hadWitness && witness.length > 0) throw new ScriptError(SCRIPT_ERR.WITNESS_UNEXPECTED)
}
