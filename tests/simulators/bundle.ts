// SIMULATOR support — test-only. Bundles each simulator (and the health probe) into ONE
// self-contained ESM file with esbuild, and copies the lightning .proto files next to them, so a
// test image needs nothing but node and this folder:
//   npx tsx tests/simulators/bundle.ts [outDir]     (default: out/simulators)
//   → bitcoind-simulator.mjs electrs-simulator.mjs lnd-simulator.mjs lnd-world-simulator.mjs
//     healthcheck.mjs protos/*.proto secp256k1.wasm (tiny-secp256k1's WebAssembly, loaded from
//     beside the bundles)
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const SIMULATOR_ENTRIES = [
  'bitcoind-simulator',
  'electrs-simulator',
  'lnd-simulator',
  'lnd-world-simulator',
  'healthcheck',
] as const

// CommonJS dependencies (grpc-js, proto-loader) call require() on Node built-ins.
const BANNER =
  "import { createRequire as __flashboxCreateRequire } from 'node:module';" +
  'const require = __flashboxCreateRequire(import.meta.url);'

export interface BundledSimulators {
  readonly outDir: string
  /** Absolute paths of the .mjs files, by entry name. */
  readonly files: Readonly<Record<(typeof SIMULATOR_ENTRIES)[number], string>>
  readonly protosDir: string
}

export function bundleSimulators(outDir = join(root, 'out', 'simulators')): BundledSimulators {
  const files = {} as Record<(typeof SIMULATOR_ENTRIES)[number], string>
  for (const name of SIMULATOR_ENTRIES) {
    files[name] = bundleEntry(join(root, 'tests', 'simulators', `${name}.ts`), outDir)
  }
  const protosDir = join(outDir, 'protos')
  cpSync(join(root, 'node_modules', 'lightning', 'grpc', 'protos'), protosDir, { recursive: true })
  copySecp256k1Wasm(outDir)
  return { outDir, files, protosDir }
}

/**
 * One TypeScript entry (and everything it imports) → `<outDir>/<entry's name>.mjs`, one
 * self-contained ESM file for Node 24; returns its path. Used for the simulators above and for
 * other test programs that run in a test image (bench/wallet-facade.ts).
 */
export function bundleEntry(entry: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true })
  const esbuild = join(root, 'node_modules', '.bin', 'esbuild')
  if (!existsSync(esbuild)) throw new Error(`esbuild not found at ${esbuild}; run npm ci`)
  const outfile = join(outDir, `${basename(entry).replace(/\.ts$/, '')}.mjs`)
  const r = spawnSync(
    esbuild,
    [
      entry,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node24',
      '--log-level=warning',
      `--banner:js=${BANNER}`,
      `--outfile=${outfile}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  if (r.status !== 0) throw new Error(`esbuild failed for ${entry} (exit ${r.status})`)
  return outfile
}

/** tiny-secp256k1's WebAssembly file name; a bundle using it loads it from beside itself. */
export const WASM = 'secp256k1.wasm'

/** Copies tiny-secp256k1's WebAssembly (the world chain's signature checks) into `outDir`. */
export function copySecp256k1Wasm(outDir: string): string {
  const dest = join(outDir, WASM)
  cpSync(join(root, 'node_modules', 'tiny-secp256k1', 'lib', WASM), dest)
  return dest
}

/** Where test images keep the bundles (`/opt/simulators/<name>.mjs`, `/opt/simulators/protos`). */
export const SIMULATOR_IMAGE_DIR = '/opt/simulators'

/**
 * The bundles as a `files` map for tests/images/build.ts `buildTestImage`, e.g.
 * `buildTestImage('lnd-simulator', { files: simulatorImageFiles(), cmd: ['/usr/local/bin/node',
 * '/opt/simulators/lnd-simulator.mjs'], env: { LND_SIM_DIR: '/data/lnd' } })`.
 */
export function simulatorImageFiles(bundled = bundleSimulators()): Record<string, Buffer> {
  const files: Record<string, Buffer> = {}
  for (const [name, path] of Object.entries(bundled.files))
    files[`${SIMULATOR_IMAGE_DIR}/${name}.mjs`] = readFileSync(path)
  files[`${SIMULATOR_IMAGE_DIR}/${WASM}`] = readFileSync(join(bundled.outDir, WASM))
  for (const proto of readdirSync(bundled.protosDir))
    files[`${SIMULATOR_IMAGE_DIR}/protos/${proto}`] = readFileSync(join(bundled.protosDir, proto))
  return files
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = bundleSimulators(process.argv[2] ? resolve(process.argv[2]) : undefined)
  process.stdout.write(`SIMULATOR bundles written to ${out.outDir}\n`)
}
