// What a whole-box backup holds, as archive paths under two roots:
//   engine/…  the engine's own folder: settings, the box key (wrapped), owner password hash,
//             Nostr identity and messages, eCash wallet, Lightning payment records;
//   stack/…   the stack's data folder: the stack's secrets (RPC passwords, LND TLS key, LND's
//             sealed recovery words and static channel backup), the relay and the mint.
// Left out on purpose (written into the manifest): bitcoind's and electrs' data (public, and
// rebuilt from the network), LND's live data (channel.db must never be restored: an old copy
// can lose funds; recovery is seed + static channel backup), BTCPay's and its databases' raw
// files (a pg_dump is taken instead when it runs).
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'

export interface BackupRoots {
  readonly engineDir: string
  readonly stackDir: string
}

export interface PlannedEntry {
  /** Path inside the archive, with '/' separators: engine/… or stack/…. */
  readonly path: string
  readonly source: string
  readonly size: number
  /** SQLite databases are copied with SQLite's online backup (a consistent snapshot). */
  readonly kind: 'file' | 'sqlite'
}

export interface Skipped {
  readonly what: string
  readonly why: string
}

/** Folders under the engine's folder that are never part of a backup. */
const ENGINE_SKIP = new Set(['.restore', '.backup-work', 'backups', 'logs', 'cache'])
/** Service folders under the stack's data folder that are described, not copied. */
const STACK_SKIP: Record<string, string> = {
  bitcoind: 'Bitcoin Core’s block data is public and is downloaded again from the network.',
  electrs: 'The Electrum index is rebuilt from Bitcoin Core.',
  lnd: 'LND’s live channel database is never copied (an old copy can lose funds); LND comes back from its recovery words and the static channel backup under stack/secrets.',
  postgres:
    'The database files are not copied while in use; BTCPay’s database is saved with pg_dump instead.',
  nbxplorer: 'NBXplorer’s index is rebuilt from Bitcoin Core.',
  btcpay: 'BTCPay’s own files are rebuilt; its database is saved with pg_dump.',
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0')

export function isSqliteFile(path: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return false
  }
  try {
    const b = Buffer.alloc(16)
    return readSync(fd, b, 0, 16, 0) === 16 && b.equals(SQLITE_MAGIC)
  } finally {
    closeSync(fd)
  }
}

/** SQLite's side files: the online backup copies what they hold, so they are never copied. */
const SQLITE_SIDE = /-(wal|shm|journal)$/
const TEMP = /(\.tmp|\.partial)$/

function walk(
  root: string,
  prefix: string,
  skipTop: (name: string) => boolean,
  out: PlannedEntry[],
  excluded: ReadonlySet<string>,
): void {
  const visit = (dir: string, top: boolean) => {
    let names: string[]
    try {
      names = readdirSync(dir).sort()
    } catch {
      return
    }
    for (const name of names) {
      if (top && skipTop(name)) continue
      const p = join(dir, name)
      if (excluded.has(resolve(p))) continue
      let st
      try {
        st = statSync(p)
      } catch {
        continue // removed meanwhile
      }
      if (st.isDirectory()) {
        visit(p, false)
        continue
      }
      if (!st.isFile() || SQLITE_SIDE.test(name) || TEMP.test(name)) continue
      out.push({
        path: `${prefix}/${relative(root, p).split(sep).join('/')}`,
        source: p,
        size: st.size,
        kind: isSqliteFile(p) ? 'sqlite' : 'file',
      })
    }
  }
  visit(root, true)
}

/** Every file a backup of these roots copies, and what it leaves out (with the reason). */
export function planBackup(roots: BackupRoots): { entries: PlannedEntry[]; skipped: Skipped[] } {
  const entries: PlannedEntry[] = []
  const skipped: Skipped[] = []
  const engine = resolve(roots.engineDir)
  const stack = resolve(roots.stackDir)
  // The suggested stack folder lives inside the engine's folder: copied once, as stack/….
  const excluded = new Set<string>([stack])
  walk(engine, 'engine', (n) => ENGINE_SKIP.has(n), entries, excluded)
  if (existsSync(stack)) {
    walk(stack, 'stack', (n) => n in STACK_SKIP, entries, new Set())
    for (const [name, why] of Object.entries(STACK_SKIP)) {
      if (existsSync(join(stack, name))) skipped.push({ what: `stack/${name}`, why })
    }
  }
  return { entries, skipped }
}
