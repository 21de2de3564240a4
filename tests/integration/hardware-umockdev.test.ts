// The real `usb` package (its Rust/nusb enumeration of Linux sysfs) and the box's discovery, run
// under Debian's umockdev-run on a recorded sysfs (tests/fixtures/umockdev/signers.umockdev: a root
// hub, a Trezor on port 1-1, a Ledger Nano S Plus on 1-2), since this kernel has no USB. umockdev's
// LD_PRELOAD wrapper redirects the package's reads of /sys/bus/usb to the recording, so the devices
// are listed as on a real machine; the test checks their IDs, names and sysfs port paths.
// Only enumeration: umockdev has no usbfs ioctls for these devices, so nothing is opened here
// (the drivers are tested against emulators at their packet boundary).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DevicesOverview } from '../../src/shared/api/hardware'

const root = join(import.meta.dirname, '../..')

describe('USB discovery under umockdev (recorded sysfs, the real usb package)', () => {
  it('lists the recorded Trezor and Ledger with their sysfs port paths', () => {
    const r = spawnSync(
      'umockdev-run',
      [
        '-d',
        join(root, 'tests/fixtures/umockdev/signers.umockdev'),
        '--',
        join(root, 'node_modules/.bin/tsx'),
        join(root, 'tests/integration/umockdev-discovery.ts'),
      ],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    )
    expect(r.error).toBeUndefined()
    expect(r.stderr.replace(/\(node:\d+\) .*Warning.*\n?|\(Use `node .*\n?/g, '')).toBe('')
    expect(r.status).toBe(0)
    const overview = JSON.parse(r.stdout) as DevicesOverview
    expect(overview.usbAvailable).toBe(true)
    expect(
      overview.devices.map((d) => [d.id, d.model, d.modelName, d.vendorId, d.productId]),
    ).toEqual([
      ['1-1', 'trezor', 'Trezor Model T / Safe (TREZOR)', 0x1209, 0x53c1],
      ['1-2', 'ledger', 'Ledger Nano S Plus (Nano S Plus)', 0x2c97, 0x5011],
    ])
  })
})
