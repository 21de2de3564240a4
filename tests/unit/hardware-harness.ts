// Shared setup of the hardware signer tests: a regtest world chain on which alice pays the vault.
import { vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import type { VaultCoin } from '../../src/core/hardware/multisig/vault-psbt'
import { Chain } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, TestKey } from '../simulators/world/test-keys'

/**
 * A fresh chain where alice pays, in one mined transaction, each amount to the vault's receive
 * address at its index (output i pays receive[i].index); the coins as vaultSpendPsbt takes them.
 */
export function fundVault(
  vault: Vault,
  receive: readonly { index: number; value: bigint }[],
): { chain: Chain; coins: VaultCoin[] } {
  const chain = new Chain()
  const alice = TestKey.fromLabel('alice')
  const fund = alice.spend(
    [fundedKey(chain, alice)],
    receive.map((r) => ({ script: vaultAddress(vault, 0, r.index).script, value: r.value })),
    1,
  )
  chain.submit(fund)
  chain.mine(1, BURN_SCRIPT)
  const coins = receive.map((r, vout) => ({
    txid: fund.getId(),
    vout,
    value: r.value,
    chain: 0 as const,
    index: r.index,
    prevTxHex: fund.toHex(),
  }))
  return { chain, coins }
}
