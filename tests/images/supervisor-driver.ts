// A TEST driver: one supervisor in its own process, as the app's engine would run it, so a test
// can SIGKILL it at any moment and start another. Usage (run with the pinned node):
//   node --import tsx tests/images/supervisor-driver.ts <plan.json> <start|resume>
// `start` asks for the stack to run (like the user's Start); `resume` only reconciles what the
// persisted desired state says (like the app starting again). Every status change is printed as
// one JSON line on stdout: {"kind":"service","id":…,"state":…,"containerId":…}.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { StackPlan } from '../../src/core/stack/spec'
import { makeSupervisor } from './harness'

const args = z.tuple([z.string().min(1), z.enum(['start', 'resume'])]).parse(process.argv.slice(2))
const plan = JSON.parse(readFileSync(args[0], 'utf8')) as StackPlan

const out = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`)

const { sup } = makeSupervisor(plan.dataDir, {
  publish: (event) => {
    if (event.type === 'service') {
      const s = event.service
      out({ kind: 'service', id: s.id, state: s.state, containerId: s.containerId ?? null })
    }
  },
})

process.on('SIGTERM', () => {
  void sup.close().then(() => process.exit(0))
})

await sup.open()
sup.setPlan(plan)
out({ kind: 'open' })
if (args[1] === 'start') await sup.startStack()
else await sup.reconcileNow()
out({ kind: 'reconciled' })
