// Run by hardware-umockdev.test.ts inside `umockdev-run`: the box's real USB discovery (the `usb`
// package's enumeration, the Linux access probe) on the recorded sysfs, printed as JSON.
import { DeviceDiscovery } from '../../src/core/hardware/usb/discovery'
import { linuxAccessProbe, usbBackend } from '../../src/core/hardware/usb/usb-backend'

const overview = await new DeviceDiscovery(usbBackend(), linuxAccessProbe()).overview()
process.stdout.write(JSON.stringify(overview))
