// Backup targets on Linux: folders under a fake automount root, told apart by what lsblk says
// about the device mounted there (RM, or HOTPLUG for USB disks), and removable devices mounted
// elsewhere; without lsblk, the automount folders count as removable by their place.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { lsblkDevices, mountsOf, removableDrives, type LsblkDevice } from './removable-drives'

const root = mkdtempSync(join(tmpdir(), 'drives-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const at = (p: string) => {
  mkdirSync(join(root, p), { recursive: true })
  return join(root, p)
}
const roots = { media: [join(root, 'media'), join(root, 'run/media')], volumes: [] }

describe('removable drives', () => {
  const usb = at('media/owner/USBSTICK')
  const internal = at('media/owner/DATA')
  const card = at('run/media/owner/CARD')
  const elsewhere = at('mnt/usb')
  const devices: LsblkDevice[] = [
    { name: 'vda', rm: false, hotplug: false, mountpoints: ['/', internal] },
    {
      name: 'sdb',
      rm: true,
      hotplug: true,
      mountpoints: [null],
      children: [{ name: 'sdb1', rm: true, mountpoints: [usb], label: 'BACKUP STICK' }],
    },
    // A USB disk that does not set RM: lsblk's HOTPLUG says it can be unplugged.
    { name: 'sdc', rm: '0', hotplug: '1', children: [{ name: 'sdc1', mountpoint: card }] },
    { name: 'sdd', rm: true, mountpoints: [elsewhere] },
  ]

  it('marks removable only what lsblk says can be unplugged, and finds it anywhere', () => {
    const byPath = Object.fromEntries(removableDrives(roots, devices).map((d) => [d.path, d]))
    expect(byPath[usb]).toMatchObject({ label: 'BACKUP STICK', removable: true })
    expect(byPath[card]).toMatchObject({ label: 'CARD', removable: true })
    expect(byPath[internal]).toMatchObject({ label: 'DATA', removable: false })
    expect(byPath[elsewhere]).toMatchObject({ removable: true })
    expect(byPath['/']).toBeUndefined()
    expect(typeof byPath[usb]!.freeBytes).toBe('number')
  })

  it('without lsblk, folders under the automount roots count as removable by their place', () => {
    const paths = removableDrives(roots, null)
    expect(paths.map((d) => d.path).sort()).toEqual([card, internal, usb].sort())
    expect(paths.every((d) => d.removable)).toBe(true)
  })

  it('reads this machine’s real lsblk output', () => {
    const real = lsblkDevices()
    if (!real) return // no lsblk here (macOS)
    const mounts = mountsOf(real)
    expect(mounts.size).toBeGreaterThan(0)
    for (const m of mounts.values()) expect(typeof m.removable).toBe('boolean')
  })
})
