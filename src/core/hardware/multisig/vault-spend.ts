// Building a vault spend: coins are picked largest first from those the box follows on chain
// (vault-watch.ts) until they pay the amount and the fee; the rest goes back to the vault's next
// change address. Offline fallback: the owner pastes the funding transactions (raw hex, as any
// node or block explorer gives them) and the vault's outputs in them are found by scanning the
// first receive and change addresses.
import { address as baddress, Transaction } from 'bitcoinjs-lib'
import { FlashError } from '../../errors'
import { bitcoinNetwork, vaultAddress, type Vault } from './vault'
import { vaultSpendPsbt, type VaultCoin } from './vault-psbt'

/** Addresses scanned on each chain when looking for the vault's coins. */
export const VAULT_SCAN = 100

export function findVaultCoins(vault: Vault, txHexes: readonly string[]): VaultCoin[] {
  const scripts = new Map<string, { chain: 0 | 1; index: number }>()
  for (const chain of [0, 1] as const)
    for (let index = 0; index < VAULT_SCAN; index++)
      scripts.set(Buffer.from(vaultAddress(vault, chain, index).script).toString('hex'), {
        chain,
        index,
      })
  const coins: VaultCoin[] = []
  for (const hex of txHexes) {
    let tx: Transaction
    try {
      tx = Transaction.fromHex(hex.trim())
    } catch (err) {
      throw new FlashError(
        'vault.bad_funding_tx',
        'This is not a raw transaction (hex).',
        'Copy the funding transaction’s raw hex from your node or a block explorer.',
        { cause: err },
      )
    }
    tx.outs.forEach((o, vout) => {
      const at = scripts.get(Buffer.from(o.script).toString('hex'))
      if (at) coins.push({ txid: tx.getId(), vout, value: o.value, ...at, prevTxHex: tx.toHex() })
    })
  }
  return coins
}

// Virtual sizes for P2WSH k-of-n inputs: outpoint, sequence, empty scriptSig (41 bytes), and the
// witness (items count, empty dummy, k signatures of up to 73 bytes, the script) at a quarter.
function inputVsize(vault: Vault): number {
  const n = vault.cosigners.length
  const script = 3 + 34 * n
  const witness = 1 + 1 + vault.threshold * 74 + 1 + script + (script > 75 ? 1 : 0)
  return 41 + witness / 4
}

function outputVsize(script: Uint8Array): number {
  return 8 + 1 + script.length
}

export interface VaultSpendPlan {
  psbt: string
  coins: VaultCoin[]
  total: bigint
  fee: bigint
  /** Estimated before signing (signatures are up to 73 bytes; DER can make them shorter). */
  vsize: number
  change?: { index: number; address: string; value: bigint }
}

/** Checks `to` is an address on the vault's network; its output script. */
export function paymentScript(vault: Vault, to: string): Uint8Array {
  try {
    return baddress.toOutputScript(to, bitcoinNetwork(vault.network))
  } catch (err) {
    throw new FlashError(
      'vault.bad_address',
      `“${to}” is not a ${vault.network} address.`,
      'Check the address you are paying to (and that it is for the same network as the box).',
      { cause: err },
    )
  }
}

/**
 * Pays `amount` to `to` from `coins` (largest first, as few as cover the amount and the fee), the
 * rest back to change address `changeIndex`.
 */
export function planVaultSpend(
  vault: Vault,
  available: readonly VaultCoin[],
  to: string,
  amount: bigint,
  feeRate: number,
  changeIndex: number,
): VaultSpendPlan {
  const toScript = paymentScript(vault, to)
  const change = vaultAddress(vault, 1, changeIndex)
  const sorted = [...available].sort((a, b) =>
    a.value === b.value ? 0 : a.value > b.value ? -1 : 1,
  )
  const coins: VaultCoin[] = []
  let total = 0n
  let base = 10.5 + outputVsize(toScript)
  const fees = () => ({
    withChange: BigInt(Math.ceil((base + outputVsize(change.script)) * feeRate)),
    without: BigInt(Math.ceil(base * feeRate)),
  })
  for (const c of sorted) {
    if (coins.length > 0 && total - amount - fees().without >= 0n) break
    coins.push(c)
    total += c.value
    base += inputVsize(vault)
  }
  const { withChange: feeWith, without: feeWithout } = fees()
  if (coins.length === 0 || total - amount - feeWithout < 0n)
    throw new FlashError(
      'vault.not_enough',
      `The vault’s spendable coins hold ${total} sat; paying ${amount} sat plus about ${feeWithout} sat fee needs more.`,
      'Pay less, choose a lower fee rate, or wait for coins on their way to the vault to confirm.',
    )
  const left = total - amount - feeWith
  // Change below the dust line is left to the fee rather than made into an unspendable output.
  const withChange = left >= 546n
  const fee = withChange ? feeWith : total - amount
  const psbt = vaultSpendPsbt(
    vault,
    coins,
    [{ address: to, value: amount }],
    withChange ? { index: changeIndex, value: left } : undefined,
  )
  return {
    psbt,
    coins,
    total,
    fee,
    vsize: Math.ceil(withChange ? base + outputVsize(change.script) : base),
    ...(withChange ? { change: { index: changeIndex, address: change.address, value: left } } : {}),
  }
}
