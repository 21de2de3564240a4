// Drives the box can offer as backup targets. On Linux, `lsblk` says which block devices are
// removable (its RM flag, or HOTPLUG for USB disks that do not set RM) and where they are mounted;
// every such mount is offered, wherever it is. Folders under the desktop's automount roots
// (/media/<user>/…, /run/media/<user>/…, and /Volumes/… on macOS, where there is no lsblk) are
// offered too, marked removable only when lsblk confirms it (or, without lsblk, by their place).
import { execFileSync } from 'node:child_process'
import { readdirSync, statSync, statfsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import type { BackupTargetView } from '../../shared/api/backup'

const DeviceSchema: z.ZodType<LsblkDevice> = z.lazy(() =>
  z.object({
    name: z.string(),
    rm: z.union([z.boolean(), z.string()]).optional(),
    hotplug: z.union([z.boolean(), z.string()]).optional(),
    mountpoints: z.array(z.string().nullable()).optional(),
    mountpoint: z.string().nullable().optional(),
    label: z.string().nullable().optional(),
    children: z.array(DeviceSchema).optional(),
  }),
)
export interface LsblkDevice {
  name: string
  rm?: boolean | string | undefined
  hotplug?: boolean | string | undefined
  mountpoints?: (string | null)[] | undefined
  mountpoint?: string | null | undefined
  label?: string | null | undefined
  children?: LsblkDevice[] | undefined
}

/** `lsblk -J`'s devices; undefined where lsblk does not exist (macOS) or fails. */
export function lsblkDevices(): LsblkDevice[] | undefined {
  try {
    const out = execFileSync('lsblk', ['-J', '-o', 'NAME,RM,HOTPLUG,MOUNTPOINTS,LABEL'], {
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString()
    return z.object({ blockdevices: z.array(DeviceSchema) }).parse(JSON.parse(out)).blockdevices
  } catch {
    return undefined
  }
}

const flag = (v: boolean | string | undefined) => v === true || v === '1'

/** Mount point → { removable, label } for every mounted block device (partitions inherit RM). */
export function mountsOf(
  devices: readonly LsblkDevice[],
): Map<string, { removable: boolean; label?: string }> {
  const out = new Map<string, { removable: boolean; label?: string }>()
  const visit = (d: LsblkDevice, parentRemovable: boolean) => {
    const removable = parentRemovable || flag(d.rm) || flag(d.hotplug)
    const points = [...(d.mountpoints ?? []), ...(d.mountpoint ? [d.mountpoint] : [])]
    for (const p of points) {
      if (p && p !== '[SWAP]')
        out.set(resolve(p), { removable, ...(d.label ? { label: d.label } : {}) })
    }
    for (const c of d.children ?? []) visit(c, removable)
  }
  for (const d of devices) visit(d, false)
  return out
}

function dirs(path: string): string[] {
  try {
    return readdirSync(path)
      .map((n) => join(path, n))
      .filter((p) => {
        try {
          return statSync(p).isDirectory()
        } catch {
          return false
        }
      })
  } catch {
    return []
  }
}

export function freeBytes(path: string): number | undefined {
  try {
    const s = statfsSync(path)
    return s.bavail * s.bsize
  } catch {
    return undefined
  }
}

export interface DriveRoots {
  /** Linux automount roots: /media/<user>/<drive> or /media/<drive>, /run/media/<user>/<drive>. */
  readonly media: readonly string[]
  /** macOS: /Volumes/<drive>. */
  readonly volumes: readonly string[]
}

export const DEFAULT_ROOTS: DriveRoots = { media: ['/media', '/run/media'], volumes: ['/Volumes'] }

export function removableDrives(
  roots: DriveRoots = DEFAULT_ROOTS,
  /** null: no lsblk on this system. */
  devices: LsblkDevice[] | null = lsblkDevices() ?? null,
): BackupTargetView[] {
  const mounts = devices ? mountsOf(devices) : undefined
  const found = new Map<string, { removable: boolean; label?: string }>()
  const add = (p: string, byPlace: boolean) => {
    const m = mounts?.get(resolve(p))
    found.set(resolve(p), {
      removable: mounts ? !!m?.removable : byPlace,
      ...(m?.label ? { label: m.label } : {}),
    })
  }
  for (const root of roots.media) {
    for (const d of dirs(root)) {
      if (mounts?.has(resolve(d)))
        add(d, true) // /media/<drive>
      else {
        const inner = dirs(d)
        if (inner.length > 0)
          for (const i of inner) add(i, true) // /media/<user>/<drive>
        else if (!root.endsWith('/run/media')) add(d, true)
      }
    }
  }
  for (const root of roots.volumes)
    for (const d of dirs(root)) if (!d.endsWith('/Macintosh HD')) add(d, true)
  // Removable devices mounted anywhere else (e.g. /mnt/usb).
  for (const [p, m] of mounts ?? []) if (m.removable && !found.has(p)) found.set(p, m)
  return [...found]
    .filter(([p]) => {
      try {
        return statSync(p).isDirectory()
      } catch {
        return false
      }
    })
    .map(([p, m]) => {
      const free = freeBytes(p)
      return {
        path: p,
        label: m.label ?? p.split('/').pop() ?? p,
        removable: m.removable,
        ...(free !== undefined ? { freeBytes: free } : {}),
      }
    })
}
