// Several windows may follow the same service's logs; the engine is asked to start streaming on
// the first follower and to stop on the last one leaving.
import type { Engine } from '../engine/engine'
import type { RequestContext } from '../engine/module'

export class LogFollows {
  private readonly counts = new Map<string, number>()

  constructor(
    private readonly engine: Pick<Engine, 'call' | 'log'>,
    private readonly ctx: RequestContext,
  ) {}

  async follow(serviceId: string): Promise<void> {
    const n = this.counts.get(serviceId) ?? 0
    this.counts.set(serviceId, n + 1)
    if (n === 0) {
      try {
        await this.engine.call('stack', 'followLogs', { id: serviceId, follow: true }, this.ctx)
      } catch (err) {
        this.counts.set(serviceId, Math.max(0, (this.counts.get(serviceId) ?? 1) - 1))
        throw err
      }
    }
  }

  async unfollow(serviceId: string): Promise<void> {
    const n = this.counts.get(serviceId) ?? 0
    if (n <= 0) return
    if (n > 1) {
      this.counts.set(serviceId, n - 1)
      return
    }
    this.counts.delete(serviceId)
    try {
      await this.engine.call('stack', 'followLogs', { id: serviceId, follow: false }, this.ctx)
    } catch (err) {
      this.engine.log.warn('could not stop following logs', {
        serviceId,
        error: err instanceof Error ? err.message : String(err),
      })
    }
  }

  followers(serviceId: string): number {
    return this.counts.get(serviceId) ?? 0
  }
}
