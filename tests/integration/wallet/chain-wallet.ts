// TEST-ONLY: the wallet core's `WalletForSend` answered straight from the simulated chain
// (tests/simulators/world/chain.ts), so the send side is tested with real signatures and real v31
// policy without the Electrum sync. Keys are BIP32 from a fixed seed: wpkh at m/84'/1'/0' and tr
// at m/86'/1'/0' (BIP84/BIP86), receive chain 0 and change chain 1, 20 addresses each.
import { BIP32Factory, type BIP32Interface } from 'bip32'
import { payments, Transaction } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { FlashError } from '../../../src/core/errors'
import type {
  WalletAccount,
  WalletAddress,
  WalletCoin,
  WalletForSend,
  WalletTransaction,
} from '../../../src/core/wallet/types'
import { type Chain, REGTEST } from '../../simulators/world/chain'

const bip32 = BIP32Factory(ecc)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

export interface TestAccountSpec {
  id: string
  kind: 'wpkh' | 'tr'
  watchOnly?: boolean
}

export class ChainWallet implements WalletForSend {
  readonly master: BIP32Interface
  private readonly accounts = new Map<
    string,
    { spec: TestAccountSpec; addresses: WalletAddress[] }
  >()
  private readonly byScript = new Map<string, WalletAddress>()
  private nextChange = new Map<string, number>()
  readonly frozen = new Set<string>()
  readonly broadcasts: string[] = []

  constructor(
    private readonly chain: Chain,
    seedLabel: string,
    specs: TestAccountSpec[],
    readonly password = 'correct horse',
  ) {
    this.master = bip32.fromSeed(Buffer.alloc(32, seedLabel), REGTEST)
    for (const spec of specs) {
      const purpose = spec.kind === 'wpkh' ? 84 : 86
      const addresses: WalletAddress[] = []
      for (const chainNo of [0, 1] as const) {
        for (let i = 0; i < 20; i++) {
          const path = `m/${purpose}'/1'/0'/${chainNo}/${i}`
          const node = this.master.derivePath(path)
          const xonly = node.publicKey.subarray(1, 33)
          const p =
            spec.kind === 'wpkh'
              ? payments.p2wpkh({ pubkey: node.publicKey, network: REGTEST })
              : payments.p2tr({ internalPubkey: xonly, network: REGTEST })
          const a: WalletAddress = {
            accountId: spec.id,
            address: p.address!,
            scriptPubKey: hex(p.output!),
            scriptHash: '',
            used: false,
            derivation: {
              kind: spec.kind,
              chain: chainNo,
              index: i,
              masterFingerprint: hex(this.master.fingerprint),
              path,
              pubkey: hex(node.publicKey),
              tapInternalKey: spec.kind === 'tr' ? hex(xonly) : undefined,
              descriptor: '',
            },
          }
          addresses.push(a)
          this.byScript.set(`${spec.id}/${a.scriptPubKey}`, a)
        }
      }
      this.accounts.set(spec.id, { spec, addresses })
      this.nextChange.set(spec.id, 0)
    }
  }

  receiveAddress(accountId: string, i: number): WalletAddress {
    return this.accounts.get(accountId)!.addresses[i]!
  }

  account(accountId: string): WalletAccount {
    const a = this.accounts.get(accountId)
    if (!a) throw new FlashError('wallet.account-unknown', 'No such account.', 'Pick an account.')
    return {
      id: accountId,
      name: accountId,
      network: 'regtest',
      kind: a.spec.kind,
      source: a.spec.watchOnly ? 'watch-only' : 'seed',
      receiveDescriptor: '',
      changeDescriptor: '',
      xpub: '',
      origin: { masterFingerprint: hex(this.master.fingerprint), path: '' },
      gapLimit: 20,
      createdAt: new Date(0).toISOString(),
    }
  }

  private tipHeight(): number {
    return this.chain.tip().height
  }

  /** Where a transaction is: mempool, or the active chain at a height. */
  private find(txid: string): { tx: Transaction; height: number } | undefined {
    const m = this.chain.mempoolEntry(txid)
    if (m) return { tx: m.tx, height: 0 }
    for (let h = this.tipHeight(); h >= 0; h--) {
      const b = this.chain.blockAt(h)!
      const tx = b.block.transactions!.find((t) => t.getId() === txid)
      if (tx) return { tx, height: h }
    }
    return undefined
  }

  coins(accountId: string): readonly WalletCoin[] {
    const out: WalletCoin[] = []
    const push = (
      txid: string,
      vout: number,
      value: bigint,
      script: Uint8Array,
      height: number,
      coinbase: boolean,
    ) => {
      const a = this.byScript.get(`${accountId}/${hex(script)}`)
      if (!a) return
      if (this.chain.spentInMempool(txid, vout)) return
      const outpoint = `${txid}:${vout}` as const
      out.push({
        accountId,
        txid,
        vout,
        outpoint,
        valueSat: Number(value),
        address: a.address,
        scriptPubKey: a.scriptPubKey,
        derivation: a.derivation,
        height,
        confirmations: height > 0 ? this.tipHeight() - height + 1 : 0,
        verified: height > 0,
        coinbase,
        frozen: this.frozen.has(outpoint),
        firstSeen: new Date(0).toISOString(),
      })
    }
    for (const u of this.chain.utxos())
      push(u.txid, u.vout, u.value, u.script, u.height, u.coinbase)
    for (const e of this.chain.mempool())
      e.tx.outs.forEach((o, i) => push(e.txid, i, o.value, o.script, 0, false))
    return out
  }

  transaction(accountId: string, txid: string): WalletTransaction | undefined {
    const found = this.find(txid)
    if (!found) return undefined
    const { tx, height } = found
    let sent = 0
    const inputs = tx.ins.map((inp) => {
      const prevTxid = Buffer.from(inp.hash).reverse().toString('hex')
      const prev = prevTxid === '0'.repeat(64) ? undefined : this.find(prevTxid)
      const o = prev?.tx.outs[inp.index]
      const mine = !!o && this.byScript.has(`${accountId}/${hex(o.script)}`)
      if (mine) sent += Number(o!.value)
      return { txid: prevTxid, vout: inp.index, valueSat: o ? Number(o.value) : undefined, mine }
    })
    let received = 0
    const outputs = tx.outs.map((o, vout) => {
      const a = this.byScript.get(`${accountId}/${hex(o.script)}`)
      if (a) received += Number(o.value)
      return {
        vout,
        valueSat: Number(o.value),
        scriptPubKey: hex(o.script),
        mine: !!a,
        chain: a?.derivation.chain,
      }
    })
    return {
      accountId,
      txid,
      status: height > 0 ? 'confirmed' : 'unconfirmed',
      height,
      confirmations: height > 0 ? this.tipHeight() - height + 1 : 0,
      firstSeen: new Date(0).toISOString(),
      receivedSat: received,
      sentSat: sent,
      netSat: received - sent,
      vsize: tx.virtualSize(),
      rbf: tx.ins.some((i) => i.sequence < 0xfffffffe),
      inputs,
      outputs,
      hex: tx.toHex(),
    }
  }

  async nextChangeAddress(accountId: string): Promise<WalletAddress> {
    const i = this.nextChange.get(accountId)!
    this.nextChange.set(accountId, i + 1)
    return this.accounts.get(accountId)!.addresses[20 + i]!
  }

  addressForScript(accountId: string, scriptPubKey: string): WalletAddress | undefined {
    return this.byScript.get(`${accountId}/${scriptPubKey}`)
  }

  async masterKey(accountId: string, password: string): Promise<BIP32Interface> {
    if (this.accounts.get(accountId)!.spec.watchOnly) {
      throw new FlashError('wallet.watch_only', 'This account is watch-only.', 'Sign elsewhere.')
    }
    if (password !== this.password) {
      throw new FlashError('wallet.wrong_password', 'That password is not right.', 'Type it again.')
    }
    return this.master
  }

  async noteBroadcast(_accountId: string, txHex: string): Promise<void> {
    this.broadcasts.push(Transaction.fromHex(txHex).getId())
  }
}
