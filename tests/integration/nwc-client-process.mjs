// An app using Nostr Wallet Connect, in its own process, built only on nostr-tools: it is given a
// nostr+walletconnect:// string and talks to the wallet service through the relay(s) it names.
//   node nwc-client-process.mjs '<connection string>' [relay]   (default: the string's first relay)
// stdin, one JSON per line: {"id":1,"method":"get_balance","params":{},"encryption":"nip44_v2"|"nip04"}
//                        or {"id":2,"op":"info"} (the wallet's 13194 info event)
// stdout, one JSON per line: {"id":1,"response":{…}} | {"id":1,"event":{…}} | {"id":1,"error":"…"}
// A request is published again every 2 s until answered (the wallet runs each event id once).
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { finalizeEvent, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import * as nip44 from 'nostr-tools/nip44'
import * as nip04 from 'nostr-tools/nip04'
import { hexToBytes } from '@noble/hashes/utils.js'

useWebSocketImplementation(WebSocket)

const uri = new URL(process.argv[2].replace('nostr+walletconnect://', 'http://'))
const wallet = uri.hostname
const relays = uri.searchParams.getAll('relay')
const relayUrl = process.argv[3] ?? relays[0]
if (!relays.includes(relayUrl)) throw new Error(`${relayUrl} is not in the connection string`)
const secret = hexToBytes(uri.searchParams.get('secret'))
const me = getPublicKey(secret)
const relay = await Relay.connect(relayUrl)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

async function info(id) {
  const events = []
  await new Promise((resolve) => {
    const sub = relay.subscribe([{ kinds: [13194], authors: [wallet] }], {
      onevent: (e) => events.push(e),
      oneose: () => {
        sub.close()
        resolve()
      },
    })
  })
  const e = events.find((x) => verifyEvent(x))
  out(e ? { id, event: e } : { id, error: 'no info event' })
}

async function request(id, method, params, encryption) {
  const body = JSON.stringify({ method, params })
  const nip44Key = nip44.getConversationKey(secret, wallet)
  const content =
    encryption === 'nip04' ? nip04.encrypt(secret, wallet, body) : nip44.encrypt(body, nip44Key)
  const ev = finalizeEvent(
    {
      kind: 23194,
      created_at: Math.floor(Date.now() / 1000),
      content,
      // `encryption` names the scheme in the tag; anything but nip04 is encrypted with NIP-44.
      tags: [['p', wallet], ...(encryption === 'nip04' ? [] : [['encryption', encryption]])],
    },
    secret,
  )
  let timer
  const answer = new Promise((resolve, reject) => {
    const sub = relay.subscribe([{ kinds: [23195], authors: [wallet], '#e': [ev.id] }], {
      onevent: (r) => {
        if (!verifyEvent(r) || !r.tags.some((t) => t[0] === 'p' && t[1] === me)) return
        try {
          const text =
            encryption === 'nip04'
              ? nip04.decrypt(secret, wallet, r.content)
              : nip44.decrypt(r.content, nip44Key)
          sub.close()
          resolve(JSON.parse(text))
        } catch (err) {
          reject(err)
        }
      },
    })
  })
  const started = Date.now()
  const send = () => {
    relay.publish(ev).catch(() => undefined)
    if (Date.now() - started < 20_000) timer = setTimeout(send, 2000)
  }
  send()
  try {
    const response = await Promise.race([
      answer,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no response')), 25_000)),
    ])
    out({ id, response })
  } catch (err) {
    out({ id, error: err.message })
  } finally {
    clearTimeout(timer)
  }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const cmd = JSON.parse(line)
  if (cmd.op === 'info') void info(cmd.id)
  else void request(cmd.id, cmd.method, cmd.params ?? {}, cmd.encryption ?? 'nip44_v2')
})
lines.on('close', () => {
  relay.close()
  process.exit(0)
})
