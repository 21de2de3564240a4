// Where BTCPay's webhooks reach the box. BTCPay runs in a container on the stack's private
// Docker bridge network; the host's 127.0.0.1 is not reachable from there. The bridge's gateway
// address is this host's own address on that network (Linux puts it on the bridge interface),
// so the webhook receiver listens on exactly that address: reachable from the stack's
// containers, not from the LAN or the internet (it is not a public route of the front door),
// and it refuses any connection whose source is outside the network's subnet. The HMAC check
// (btcpay-webhook.ts) still decides every delivery.
// Docker Desktop (macOS, Windows) keeps bridge networks inside its VM: there the gateway is not
// an address of this computer, the bind fails, and the box says so (the receiver stays on
// 127.0.0.1, where BTCPay's webhooks do not arrive).
import { isIPv4 } from 'node:net'
import { stackGateway, type StackGateway } from '../docker/stack-gateway'

export { stackGateway, type StackGateway }

const ipv4 = (a: string): number | undefined => {
  const v = a.startsWith('::ffff:') ? a.slice(7) : a
  if (!isIPv4(v)) return undefined
  return v.split('.').reduce((n, p) => (n << 8) + Number(p), 0) >>> 0
}

/** True when `address` (IPv4, or IPv4-mapped IPv6) is inside `cidr` (IPv4). */
export function inSubnet(address: string | undefined, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/')
  const a = address ? ipv4(address) : undefined
  const b = base ? ipv4(base) : undefined
  const bits = Number(bitsText)
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return (a & mask) >>> 0 === (b & mask) >>> 0
}
