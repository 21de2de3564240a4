// Builds the renderer alone (the same Vite config electron-vite uses) into out/renderer, so the
// headless server has a UI to serve. Main and preload are not needed for browser tests.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { build } from 'vite'
import { rendererConfig } from '../electron.vite.config'

export const repoRoot = resolve(import.meta.dirname, '..')
export const rendererOut = join(repoRoot, 'out/renderer')

function newestMtime(dir: string): number {
  let newest = 0
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs)
  }
  return newest
}

/** Build unless out/renderer is newer than every file under src/renderer and src/shared. */
export async function buildRenderer(force = false): Promise<string> {
  const index = join(rendererOut, 'index.html')
  const fresh =
    !force &&
    existsSync(index) &&
    statSync(index).mtimeMs >
      Math.max(
        newestMtime(join(repoRoot, 'src/renderer')),
        newestMtime(join(repoRoot, 'src/shared')),
      )
  if (!fresh) await build({ ...rendererConfig, configFile: false, logLevel: 'warn' })
  return rendererOut
}

if (process.argv[1] === import.meta.filename) {
  // `--if-stale` (npm start): only when out/renderer is older than the sources.
  await buildRenderer(!process.argv.includes('--if-stale'))
  console.log(`user interface: ${rendererOut}`)
}
