// Whether other people's Nostr apps can reach a relay address. A kind 10050 inbox list (NIP-17)
// tells the world where to send us private messages; an address that only works on this machine
// (ws://127.0.0.1:…) or this network (192.168.…, a Docker service name) is useless to them, and
// tells them something about the box. Such addresses are used, never announced to other relays.
import { isIP } from 'node:net'

export function isPubliclyReachableRelay(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const ipVersion = isIP(host)
  if (ipVersion === 4) return isPublicIPv4(host)
  if (ipVersion === 6) return isPublicIPv6(host)
  // A single label (localhost, a Docker service name) resolves only locally.
  if (!host.includes('.')) return false
  return !/\.(localhost|local|internal|lan|home\.arpa)$/.test(host)
}

function isPublicIPv4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number]
  if (a === 0 || a === 10 || a === 127) return false // this network, private, loopback
  if (a === 169 && b === 254) return false // link-local
  if (a === 172 && b >= 16 && b <= 31) return false // private
  if (a === 192 && b === 168) return false // private
  if (a === 100 && b >= 64 && b <= 127) return false // carrier-grade NAT
  return a < 224 // multicast and reserved
}

function isPublicIPv6(ip: string): boolean {
  if (ip === '::' || ip === '::1') return false
  // IPv4-mapped (::ffff:a.b.c.d; WHATWG URL writes it as ::ffff:XXXX:XXXX).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)
  if (mapped) return isPublicIPv4(mapped[1]!)
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip)
  if (mappedHex) {
    const hi = parseInt(mappedHex[1]!, 16)
    const lo = parseInt(mappedHex[2]!, 16)
    return isPublicIPv4(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
  }
  const first = parseInt(ip.split(':')[0] || '0', 16)
  if ((first & 0xfe00) === 0xfc00) return false // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return false // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false // multicast
  return true
}
