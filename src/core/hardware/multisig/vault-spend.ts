// Building a vault spend from the transactions that funded it. The box does not yet follow the
// vault's addresses on chain, so the owner pastes the funding transactions (raw hex, as any node
// or block explorer gives them); the vault's outputs in them are found by scanning the first
// receive and change addresses, and every one found is spent (no coin selection: a vault spend
// empties what it is given, less the payment and the fee, back to a change address).
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
  coins: number
  total: bigint
  fee: bigint
  change?: { address: string; value: bigint }
}

/** Pays `amount` to `to` from every vault coin in `txHexes`, the rest back to change `changeIndex`. */
export function planVaultSpend(
  vault: Vault,
  txHexes: readonly string[],
  to: string,
  amount: bigint,
  feeRate: number,
  changeIndex: number,
): VaultSpendPlan {
  const network = bitcoinNetwork(vault.network)
  let toScript: Uint8Array
  try {
    toScript = baddress.toOutputScript(to, network)
  } catch (err) {
    throw new FlashError(
      'vault.bad_address',
      `“${to}” is not a ${vault.network} address.`,
      'Check the address you are paying to (and that it is for the same network as the box).',
      { cause: err },
    )
  }
  const coins = findVaultCoins(vault, txHexes)
  if (coins.length === 0)
    throw new FlashError(
      'vault.no_coins',
      `None of these transactions pays the vault (its first ${VAULT_SCAN} receive and change addresses).`,
      'Paste the transaction that sent coins to the vault’s address.',
    )
  const total = coins.reduce((s, c) => s + c.value, 0n)
  const change = vaultAddress(vault, 1, changeIndex)
  const base = 10.5 + coins.length * inputVsize(vault) + outputVsize(toScript)
  const feeWith = BigInt(Math.ceil((base + outputVsize(change.script)) * feeRate))
  const feeWithout = BigInt(Math.ceil(base * feeRate))
  const left = total - amount - feeWith
  if (total - amount - feeWithout < 0n)
    throw new FlashError(
      'vault.not_enough',
      `The vault coins given hold ${total} sat; paying ${amount} sat plus about ${feeWithout} sat fee needs more.`,
      'Pay less, choose a lower fee rate, or add the other funding transactions.',
    )
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
    coins: coins.length,
    total,
    fee,
    ...(withChange ? { change: { address: change.address, value: left } } : {}),
  }
}
