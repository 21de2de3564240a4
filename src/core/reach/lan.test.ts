import { createServer, type Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { checkLanPortFree, lanAddress, lanInterfaces } from './lan'

const fake = {
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
  eth0: [
    { address: 'fe80::1', family: 'IPv6', internal: false },
    { address: '192.168.1.20', family: 'IPv4', internal: false },
  ],
} as unknown as Parameters<typeof lanInterfaces>[0]

describe('LAN interfaces', () => {
  it('lists usable interfaces and picks the IPv4 address', () => {
    expect(lanInterfaces(fake)).toEqual([{ name: 'eth0', addresses: ['192.168.1.20'] }])
    expect(lanAddress('eth0', fake)).toBe('192.168.1.20')
  })

  it('says plainly when the interface is gone', () => {
    expect(() => lanAddress('wlan0', fake)).toThrow(/not on this computer any more/)
  })

  it('says plainly when the port is taken', async () => {
    const s: Server = createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
    const port = (s.address() as { port: number }).port
    await expect(checkLanPortFree('127.0.0.1', port)).rejects.toMatchObject({
      code: 'reach.lan_port_taken',
    })
    await new Promise<void>((r) => s.close(() => r()))
    await expect(checkLanPortFree('127.0.0.1', port)).resolves.toBeUndefined()
  })
})
