// Dependencies that are there are used: every package in `dependencies` is imported by production
// code (src/, services/, not tests), and a package only tests import sits in `devDependencies`.
// A package added ahead of the work that will use it is named below with that work.
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

/** In `dependencies` for work under way, not imported yet. */
const awaitingUse: Record<string, string> = {}

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'fixtures') sources(p, out)
    } else if (/\.(ts|tsx|mts|mjs|js)$/.test(e.name) && !/\.(test|conformance)\.tsx?$/.test(e.name))
      out.push(p)
  }
  return out
}

function importedPackages(files: readonly string[]): Set<string> {
  const found = new Set<string>()
  const spec = /(?:from|import|require\()\s*\(?\s*['"]([^'"./][^'"]*)['"]/g
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(spec)) {
      const parts = m[1]!.split('/')
      found.add(m[1]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!)
    }
  }
  return found
}

const production = importedPackages([
  ...sources(join(root, 'src')),
  ...sources(join(root, 'services')),
])

describe('dependencies', () => {
  it('are all imported by production code, or named with the work that will use them', () => {
    const unused = Object.keys(pkg.dependencies).filter(
      (name) => !production.has(name) && !(name in awaitingUse),
    )
    expect(unused).toEqual([])
  })

  it('keep test-only packages in devDependencies', () => {
    const testOnly = ['@grpc/grpc-js', '@grpc/proto-loader']
    for (const name of testOnly) {
      expect(production.has(name), name).toBe(false)
      expect(pkg.devDependencies[name], name).toBeDefined()
      expect(pkg.dependencies[name], name).toBeUndefined()
    }
  })

  it('use electron-store for the desktop preferences', () => {
    expect(readFileSync(join(root, 'src/main/preferences.ts'), 'utf8')).toMatch(
      /from 'electron-store'/,
    )
  })
})
