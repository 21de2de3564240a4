// Broadcast through the box's own Bitcoin node (sendrawtransaction), and the node's refusals
// (src/node/mempool_accept / validation.cpp reject reasons, as recorded from Bitcoin Core v31 in
// tests/fixtures/bitcoind-v31/mempool-policy.json) said in words the owner can act on.
import { FlashError } from '../../errors'
import { BitcoindRpcError } from '../../clients/bitcoind-rpc'

/** What broadcasting needs from the node (src/core/clients/bitcoind-rpc.ts BitcoindRpc). */
export interface BroadcastNode {
  sendRawTransaction(hex: string): Promise<string>
}

const REASONS: ReadonlyArray<[RegExp, string, string]> = [
  [
    /^insufficient fee, rejecting replacement/,
    'it does not pay enough to replace the unconfirmed transaction it conflicts with: a replacement must pay more than the old one and its dependents, plus the relay fee for its own size',
    'Bump again with a higher fee rate.',
  ],
  [
    /^replacement-failed|does not improve feerate diagram/,
    'it does not raise the fee rate enough over the transaction it replaces, so miners would not prefer it',
    'Bump again with a higher fee rate.',
  ],
  [
    /^txn-mempool-conflict/,
    'one of its coins is already being spent by another unconfirmed transaction',
    'Wait for that transaction to confirm, or bump its fee instead.',
  ],
  [
    /^bad-txns-inputs-missingorspent|^missing-inputs/,
    'one of its coins is already spent, or does not exist on your node’s chain',
    'The wallet may be out of date: wait for it to finish syncing, then prepare the payment again.',
  ],
  [
    /^Transaction outputs already in utxo set|^txn-already-known/,
    'it is already confirmed in a block',
    'Nothing to do: it has been sent.',
  ],
  [/^txn-already-in-mempool/, 'your node already has it', 'Nothing to do: it has been sent.'],
  [
    /^min relay fee not met|^mempool min fee not met/,
    'its fee rate is below the lowest your node relays',
    'Prepare it again with a higher fee rate.',
  ],
  [
    /^dust/,
    'one of its outputs is too small to be relayed ("dust")',
    'Send a larger amount to that address.',
  ],
  [
    /^Fee exceeds maximum|^max-fee-exceeded/,
    'its fee is higher than your node allows a transaction to pay',
    'Prepare it again with a lower fee rate.',
  ],
  [
    /script-verify-flag-failed|^bad-witness|^non-mandatory-script|^mandatory-script/,
    'a signature does not match: it was signed with another key, or changed after signing',
    'Sign it again with the wallet that owns these coins.',
  ],
  [
    /^non-final|^non-BIP68-final/,
    'it is time-locked and cannot be sent before its lock time',
    'Try again later.',
  ],
  [
    /^bad-txns-premature-spend-of-coinbase/,
    'it spends newly mined coins before they are 100 blocks old',
    'Wait until those coins have 100 confirmations.',
  ],
  [/^bad-txns-in-belowout/, 'it pays out more than its coins hold', 'Prepare the payment again.'],
  [
    /^too-long-mempool-chain|^too-large-cluster|^too-many-unconfirmed|cluster/i,
    'too many unconfirmed transactions already depend on each other',
    'Wait for one of them to confirm, then try again.',
  ],
  [
    /^TRUC-violation/,
    'it breaks the rules for version 3 transactions',
    'Prepare the payment again.',
  ],
  [
    /^TX decode failed/,
    'it is not a valid transaction',
    'Export the PSBT again from the wallet that signed it.',
  ],
  [
    /^(scriptpubkey|version|tx-size|bare-multisig|multi-op-return|datacarrier)/,
    'it is not a standard transaction, which nodes do not relay',
    'Pay to a standard address.',
  ],
  [/^bad-txns-/, 'it is not a valid transaction', 'Prepare the payment again.'],
]

/** The node's refusal as a FlashError with the reason in words (and the node's own text kept). */
export function refusalInWords(nodeMessage: string): FlashError {
  for (const [re, words, hint] of REASONS) {
    if (re.test(nodeMessage)) {
      return new FlashError(
        'wallet.broadcast-refused',
        `Your Bitcoin node refused the transaction: ${words}. (The node said: “${nodeMessage}”.)`,
        hint,
      )
    }
  }
  return new FlashError(
    'wallet.broadcast-refused',
    `Your Bitcoin node refused the transaction. (The node said: “${nodeMessage}”.)`,
    'Prepare the payment again; if it keeps failing, open the Bitcoin node logs.',
  )
}

/** True when the node's answer means "it is already there": treated as sent, never sent twice. */
export function alreadySent(nodeMessage: string): boolean {
  return /^txn-already-in-mempool|^Transaction outputs already in utxo set|^txn-already-known/.test(
    nodeMessage,
  )
}

/** Sends `hex`; returns its txid, or throws the node's refusal in words. */
export async function broadcast(node: BroadcastNode, hex: string, txid: string): Promise<string> {
  try {
    return await node.sendRawTransaction(hex)
  } catch (e) {
    if (e instanceof BitcoindRpcError && [-25, -26, -27, -22].includes(e.rpcCode)) {
      if (alreadySent(e.rpcMessage)) return txid
      throw refusalInWords(e.rpcMessage)
    }
    throw e
  }
}
