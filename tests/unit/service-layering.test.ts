// services/ stands alone (its own process and container): it imports nothing from src/, and the
// app reaches each service only through its public surface (services/<name>/src/index.ts).
// The ESLint rules (eslint.config.js) keep it so (`eslint .` checks the tree); this checks that
// the rules catch what they must.
import { resolve } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const eslint = new ESLint({ cwd: root })

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: resolve(root, file) })
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
}

describe('service layering', () => {
  it('refuses an import of src/ from services/', async () => {
    expect(
      await restricted(
        'services/mint/src/x.ts',
        "import { redact } from '../../../src/core/log'\nredact('x')\n",
      ),
    ).toEqual([expect.stringMatching(/stands alone/)])
    expect(
      await restricted(
        'services/mint/src/lightning/x.ts',
        "import type { Settings } from '../../../../src/shared/settings'\nexport type S = Settings\n",
      ),
    ).toEqual([expect.stringMatching(/stands alone/)])
    // The modules the services share (services/shared) stand alone too; the services use them.
    expect(
      await restricted(
        'services/shared/x.ts',
        "import { redact } from '../../src/core/log'\nredact('x')\n",
      ),
    ).toEqual([expect.stringMatching(/stands alone/)])
    expect(
      await restricted(
        'services/relay/src/x.ts',
        "import { clientAddress } from '../../shared/client-address'\nexport const c = clientAddress\n",
      ),
    ).toEqual([])
  })

  it('lets the app use a service only through its index.ts', async () => {
    const through = (spec: string) =>
      restricted('src/core/relay/x.ts', `import { a } from '${spec}'\nexport const b = a\n`)
    expect(await through('../../../services/relay/src/relay')).toEqual([
      expect.stringMatching(/public surface/),
    ])
    expect(await through('../../../services/mint/src/store/store')).toEqual([
      expect.stringMatching(/public surface/),
    ])
    expect(await through('../../../services/relay/src/index')).toEqual([])
  })
})
