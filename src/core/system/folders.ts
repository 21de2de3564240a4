// The folder browser behind the web mode's folder picker: the folders inside one folder, by name.
// Never files, never contents: a signed-in owner picks where the box keeps its data or where an
// offline image bundle is, and needs to see no more than the folder tree for that.
import { accessSync, constants, readdirSync, statSync, type Dirent } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import type { FolderListing } from '../../shared/api/system'
import { FlashError } from '../errors'

const MAX_FOLDERS = 1000

function isFolder(parent: string, e: Dirent): boolean {
  if (e.isDirectory()) return true
  if (!e.isSymbolicLink()) return false
  try {
    return statSync(join(parent, e.name)).isDirectory()
  } catch {
    return false
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

export function listFolders(path: string | undefined, home = homedir()): FolderListing {
  const target = resolve(path ?? home)
  if (path !== undefined && !isAbsolute(path)) {
    throw new FlashError(
      'system.folder_not_absolute',
      `“${path}” is not a full path.`,
      'Start from the top of the disk (like /home/you/…).',
    )
  }
  let entries: Dirent[]
  try {
    if (!statSync(target).isDirectory())
      throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' })
    entries = readdirSync(target, { withFileTypes: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new FlashError(
      'system.folder_unreadable',
      code === 'ENOENT'
        ? `There is no folder ${target}.`
        : code === 'ENOTDIR'
          ? `${target} is a file, not a folder.`
          : `Flash Box may not look inside ${target}.`,
      'Pick another folder.',
      { cause: err },
    )
  }
  const folders = entries
    .filter((e) => !e.name.startsWith('.') && isFolder(target, e))
    .map((e) => ({ name: e.name, path: join(target, e.name) }))
    .sort((a, b) => a.name.localeCompare(b.name))
  const parent = dirname(target)
  return {
    path: target,
    ...(parent !== target ? { parent } : {}),
    folders: folders.slice(0, MAX_FOLDERS),
    truncated: folders.length > MAX_FOLDERS,
    writable: writable(target),
    home,
  }
}
