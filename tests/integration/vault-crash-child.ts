// A child process that opens the box over DATA_DIR and broadcasts the signed vault spend SPEND_ID
// through a node that passes the transaction on to the world's bitcoind (MODE=after) or not
// (MODE=before) and then never answers. It prints `in the call` once the node call is under way,
// so the test can SIGKILL it exactly there: the spend is on disk as `broadcasting`.
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import type { SendNode } from '../../src/core/wallet/send/send-service'
import { openVaultBox } from './vault-chain-harness'

const env = process.env

async function main() {
  const rpc = new BitcoindRpc({
    url: env.RPC_URL!,
    user: env.RPC_USER!,
    password: env.RPC_PASSWORD!,
  })
  const node: SendNode = {
    sendRawTransaction: async (hex) => {
      if (env.MODE === 'after') await rpc.sendRawTransaction(hex)
      process.stdout.write('in the call\n')
      return new Promise<string>(() => undefined)
    },
    getBlockCount: () => rpc.getBlockCount(),
    getMempoolEntry: (txid) => rpc.getMempoolEntry(txid),
  }
  const box = await openVaultBox({
    dir: env.DATA_DIR!,
    electrumPort: Number(env.ELECTRUM_PORT),
    node,
  })
  await box.call('vaultSpendBroadcast', { spendId: env.SPEND_ID! })
}

main().catch((err: unknown) => {
  process.stdout.write(`error ${(err as { code?: string }).code ?? String(err)}\n`)
  process.exit(1)
})
