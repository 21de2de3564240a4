// Removable drives the box can offer as backup targets: mounted folders under /media/<user>/…,
// /run/media/<user>/… (Linux desktops) and /Volumes/… (macOS). Only folders are listed; the owner
// picks one.
import { readdirSync, statSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import type { BackupTargetView } from '../../shared/api/backup'

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

export function removableDrives(roots = ['/media', '/run/media', '/Volumes']): BackupTargetView[] {
  const found: string[] = []
  for (const root of roots) {
    for (const d of dirs(root)) {
      // /media/<user>/<drive> and /run/media/<user>/<drive>; /Volumes/<drive> and /media/<drive>.
      const inner = root === '/Volumes' ? [] : dirs(d)
      if (inner.length > 0) found.push(...inner)
      else if (root !== '/run/media') found.push(d)
    }
  }
  return found
    .filter((p) => p !== '/Volumes/Macintosh HD')
    .map((p) => {
      const free = freeBytes(p)
      return {
        path: p,
        label: p.split('/').pop() ?? p,
        removable: true,
        ...(free !== undefined ? { freeBytes: free } : {}),
      }
    })
}
