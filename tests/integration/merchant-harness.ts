// What the merchant integration tests share: the shop's BTCPay (Greenfield SIMULATOR) connected to
// a world LND as the box connects it, the box wallet's watch-only account, the box's engine with
// the merchant module and its owner logged in, and a customer's own Nostr client (nostr-tools)
// that publishes where it reads private messages and unwraps the NIP-17 messages the box sends it.
import { createHash, X509Certificate } from 'node:crypto'
import WebSocket from 'ws'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import type { Event } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import * as nip59 from 'nostr-tools/nip59'
import { AbstractRelay } from 'nostr-tools/abstract-relay'
import { OwnerPassword } from '../../src/core/api/http/owner-password'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import type { EngineModuleFactory } from '../../src/core/engine/module'
import type { Logger } from '../../src/core/log'
import type { LightningConnection } from '../../src/core/merchant/btcpay-setup-saga'
import { merchantModule, type MerchantModuleOptions } from '../../src/core/merchant/merchant-module'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { LightningNetwork } from '../simulators/world/lightning-network'
import { eventually } from './eventually'

/** A BIP84 regtest account xpub (vpub) of the standard test mnemonic: BTCPay's on-chain wallet. */
export const VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc'

type WorldNode = NonNullable<LightningNetwork['nodes'][string]>

/** BTCPay's Lightning connection to a world LND: its REST address, invoice macaroon, pinned cert. */
export const btcpayLightningOf = (node: WorldNode) => async (): Promise<LightningConnection> => ({
  server: `${node.restUrl}/`,
  macaroonHex: node.macaroons.invoice.toString('hex'),
  certThumbprint: createHash('sha256').update(new X509Certificate(node.cert).raw).digest('hex'),
})

export const OWNER = 'correct horse battery staple'
export const CTX = { transport: 'internal' as const }

/**
 * The owner's password set (the first time) and the owner logged in, so the box key is open. A
 * stopped engine forgets the key: each start logs in again.
 */
export async function logInOwner(engineDir: string): Promise<void> {
  const password = new OwnerPassword(engineDir)
  if (!(await password.isSet())) await password.create(OWNER)
  await boxKeyFor(engineDir).enterPassword(OWNER)
}

/**
 * The box's engine with the owner logged in and the merchant module over the BTCPay simulator,
 * which reaches the shop's world LND as the box connects it; `modules` start before it.
 */
export async function startMerchantEngine(o: {
  engineDir: string
  btcpayUrl: string
  shop: WorldNode
  log: Logger
  merchant?: Omit<MerchantModuleOptions, 'btcpayUrl' | 'lightning' | 'derivationScheme'>
  modules?: EngineModuleFactory[]
}): Promise<Engine> {
  await logInOwner(o.engineDir)
  return createEngine({
    dataDir: o.engineDir,
    log: o.log,
    modules: [
      ...(o.modules ?? []),
      merchantModule({
        btcpayUrl: o.btcpayUrl,
        webhookPort: 0,
        lightning: btcpayLightningOf(o.shop),
        derivationScheme: async () => VPUB,
        ...o.merchant,
      }),
    ],
  })
}

/** A customer's own Nostr client on the box's relay, signed in with the customer's key. */
export async function nostrCustomer(relayUrl: string) {
  const key = generateSecretKey()
  const pub = getPublicKey(key)
  const client = new AbstractRelay(relayUrl, {
    verifyEvent: (e) => verifyEvent(e),
    websocketImplementation: WebSocket as unknown as typeof globalThis.WebSocket,
  })
  client.onauth = async (t) => finalizeEvent(t, key)
  await client.connect()
  return {
    npub: nip19.npubEncode(pub),
    /** NIP-17 kind 10050: where the customer reads private messages (the box's relay). */
    async publishInbox(): Promise<void> {
      const inbox = finalizeEvent(
        {
          kind: 10050,
          created_at: Math.floor(Date.now() / 1000),
          tags: [['relay', relayUrl]],
          content: '',
        },
        key,
      )
      await eventually(
        async () => {
          await client.publish(inbox)
          return true
        },
        'the inbox relay list published',
        { retryErrors: true },
      )
    },
    /** The private messages (kind 14 rumors) gift-wrapped to the customer so far, unwrapped. */
    async messages(): Promise<{ kind: number; content: string }[]> {
      const wraps = await eventually(async () => {
        const seen: Event[] = []
        await new Promise<void>((resolve) => {
          const sub = client.subscribe([{ kinds: [1059], '#p': [pub] }], {
            onevent: (e) => seen.push(e),
            oneose: () => {
              sub.close()
              resolve()
            },
            onclose: () => resolve(),
          })
        })
        return seen.length ? seen : undefined
      }, 'the gift-wrapped message')
      return wraps.map((w) => nip59.unwrapEvent(w, key))
    },
    close: () => client.close(),
  }
}

/** The Cashu tokens in the customer's messages. */
export const tokensIn = (messages: readonly { content: string }[]): Set<string> =>
  new Set(messages.flatMap((m) => m.content.match(/cashuB[A-Za-z0-9_-]+/g) ?? []))
