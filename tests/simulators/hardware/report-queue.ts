// What a USB device emulator has sent and the host has not read yet: a device pushes reports
// (HID reports, serial chunks) in order; the host reads one at a time and, when none is there
// yet, waits for the next.
export class ReportQueue {
  private readonly queued: Uint8Array[] = []
  private waiting?: (report: Uint8Array) => void

  push(report: Uint8Array): void {
    const w = this.waiting
    if (w) {
      this.waiting = undefined
      w(report)
    } else this.queued.push(report)
  }

  read(): Promise<Uint8Array> {
    const next = this.queued.shift()
    if (next) return Promise.resolve(next)
    return new Promise((resolve) => (this.waiting = resolve))
  }
}
