// The whole test suite, in order: format, lint, types, then unit, renderer, integration, e2e.
// Runs under the project's pinned Node (npm puts node_modules/.bin first on PATH).
// Prints one closing line `tests: N passed, N failed` summed from every Vitest suite.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs'

const only = process.argv.slice(2)
const results = '.test-results'
rmSync(results, { recursive: true, force: true })
mkdirSync(results, { recursive: true })

const checks = [
  ['format', ['prettier', '--check', '.', '--log-level', 'warn']],
  ['lint', ['eslint', '.']],
  ['types (node)', ['tsc', '-p', 'tsconfig.json']],
  ['types (renderer)', ['tsc', '-p', 'tsconfig.web.json']],
]
const suites = ['unit', 'renderer', 'integration', 'e2e']

let failedSteps = []
const run = (label, cmd, args) => {
  const started = Date.now()
  console.log(`\n=== ${label} ===`)
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env })
  const secs = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`=== ${label}: ${r.status === 0 ? 'ok' : 'FAILED'} (${secs}s) ===`)
  if (r.status !== 0) failedSteps.push(label)
}

console.log(`node ${process.version}`)
if (only.length === 0)
  for (const [label, argv] of checks) run(label, 'npx', ['--no-install', ...argv])

let passed = 0
let failed = 0
for (const suite of suites) {
  if (only.length > 0 && !only.includes(suite)) continue
  const out = `${results}/${suite}.json`
  run(`tests: ${suite}`, 'npx', [
    '--no-install',
    'vitest',
    'run',
    '--project',
    suite,
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ])
  if (existsSync(out)) {
    const report = JSON.parse(readFileSync(out, 'utf8'))
    passed += report.numPassedTests ?? 0
    failed += report.numFailedTests ?? 0
  }
}
if (failedSteps.length) console.log(`\nfailed steps: ${failedSteps.join(', ')}`)
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(failedSteps.length ? 1 : 0)
