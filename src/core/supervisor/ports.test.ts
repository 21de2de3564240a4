// A port another program holds is named to the owner before a container starts: published ports,
// and the addresses a host-network service (the front door on the LAN) binds itself.
import { createServer, type AddressInfo, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { ContainerSpec } from '../stack/spec'
import { assertPortsFree } from './ports'

let held: Server | undefined
afterEach(async () => {
  await new Promise<void>((r) => (held ? held.close(() => r()) : r()))
  held = undefined
})

async function holdPort(): Promise<number> {
  held = createServer()
  await new Promise<void>((r) => held!.listen(0, '127.0.0.1', r))
  return (held.address() as AddressInfo).port
}

const frontDoor = (port: number): ContainerSpec =>
  ({
    id: 'caddy',
    displayName: 'Front door (Caddy)',
    ports: [],
    networkMode: 'host',
    hostListens: [{ port, address: '127.0.0.1', purpose: 'the shop’s devices on the LAN' }],
  }) as unknown as ContainerSpec

describe('ports a service needs', () => {
  it('names a LAN port another program holds before the front door starts', async () => {
    const port = await holdPort()
    await expect(assertPortsFree(frontDoor(port))).rejects.toMatchObject({
      code: 'stack.port_taken',
      message: `Port ${port} (the shop’s devices on the LAN, for Front door (Caddy)) is already used by another program, so Front door (Caddy) cannot start.`,
    })
    await new Promise<void>((r) => held!.close(() => r()))
    held = undefined
    await expect(assertPortsFree(frontDoor(port))).resolves.toBeUndefined()
  })
})
