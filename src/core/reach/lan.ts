// LAN mode's ground truth: which interfaces this computer has (os.networkInterfaces), the address
// of the one the owner picked, and whether the front door's port is free there — each failure as
// a plain error.
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { NetworkInterfaceView } from '../../shared/api/reach'
import { FlashError } from '../errors'

type Interfaces = ReturnType<typeof networkInterfaces>

/** Interfaces with an address other devices can use (no loopback, no IPv6 link-local). */
export function lanInterfaces(all: Interfaces = networkInterfaces()): NetworkInterfaceView[] {
  const out: NetworkInterfaceView[] = []
  for (const [name, addrs] of Object.entries(all)) {
    const usable = (addrs ?? []).filter(
      (a) => !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')),
    )
    if (usable.length) out.push({ name, addresses: usable.map((a) => a.address) })
  }
  return out
}

/** The IPv4 address (else IPv6) of `name`; a plain error when the interface is gone. */
export function lanAddress(name: string, all: Interfaces = networkInterfaces()): string {
  const found = lanInterfaces(all).find((i) => i.name === name)
  const addr = found?.addresses.find((a) => !a.includes(':')) ?? found?.addresses[0]
  if (!addr)
    throw new FlashError(
      'reach.interface_gone',
      `The network connection “${name}” that the shop’s devices use to reach Flash Box is not on this computer any more (unplugged, Wi-Fi off, or renamed).`,
      'Reconnect it, or choose another connection under Settings → Reachability.',
    )
  return addr
}

/** Resolves when `address:port` can be bound; a plain error when another program holds it. */
export async function checkLanPortFree(address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createServer()
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(
          new FlashError(
            'reach.lan_port_taken',
            `Another program already uses port ${port} on ${address}, so the shop’s devices cannot reach Flash Box there.`,
            'Stop the other program, or choose another port under Settings → Reachability.',
          ),
        )
      // Below 1024 the front door gets the right to bind (CAP_NET_BIND_SERVICE), which this
      // process may lack: only a port in use can be told from here.
      else if (err.code === 'EACCES' && port < 1024) resolve()
      else if (err.code === 'EACCES')
        reject(
          new FlashError(
            'reach.lan_port_denied',
            `This computer does not let Flash Box use port ${port} on ${address} (ports below 1024 need extra rights).`,
            'Choose a port above 1024 under Settings → Reachability.',
          ),
        )
      else reject(err)
    })
    s.listen(port, address, () => s.close(() => resolve()))
  })
}
