import { describe, expect, it } from 'vitest'
import { createEngine } from './engine'
import { FlashError } from '../errors'
import { createLogger } from '../log'

const raw =
  /→|Invalid input|Too big|Too small|expected (number|int|string)|<=|>=|NaN|9007199254740991/

describe('engine input validation', () => {
  it('the engine answers bad input with the plain sentence, never zod’s text', async () => {
    const engine = await createEngine({
      dataDir: '/nonexistent-flashbox-test',
      log: createLogger('test', { level: 'error' }),
      modules: [],
    })
    const err = await engine
      .call(
        'relay',
        'setPolicies',
        { policies: { limits: { maxFutureSeconds: 1e30 } } },
        {
          transport: 'internal',
        },
      )
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FlashError)
    expect((err as FlashError).code).toBe('api.bad_input')
    expect((err as FlashError).message).toContain('is far too large a number')
    expect((err as FlashError).message).not.toMatch(raw)
    await engine.stop()
  })
})
