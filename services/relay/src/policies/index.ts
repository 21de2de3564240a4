// Composes an operator's configuration into the core's hook lists (khatru's policies/ idea).
import type { RelayPolicy } from '../config'
import { powPolicy } from '../nip13'
import {
  authForWrites,
  bans,
  blockedIps,
  connectionsPerIp,
  membersOnlyWrites,
  restrictedReads,
} from './access'
import { allowedKinds } from './kinds'
import { eventRateLimits, queryRateLimits } from './rate-limits'
import { eventLimits, filterLimits } from './sizes'
import type { EventPolicy, Lists, Policies, QueryPolicy } from './types'

export interface PolicyContext {
  readonly lists: Lists
  /** The box's admin pubkeys and the relay's own key: always members. */
  readonly admins: ReadonlySet<string>
  readonly now: () => number
}

export function composePolicies(cfg: RelayPolicy, ctx: PolicyContext): Policies {
  const event: EventPolicy[] = [bans(ctx.lists), eventLimits(cfg.limits, ctx.now)]
  if (cfg.authForWrites) event.push(authForWrites())
  if (cfg.writes === 'allow-list') event.push(membersOnlyWrites(ctx.lists, ctx.admins))
  event.push(allowedKinds(cfg.kinds, ctx.lists))
  if (cfg.minPowDifficulty > 0) event.push(powPolicy(cfg.minPowDifficulty))
  // Rate limits last: a refused event should not also spend the sender's tokens.
  event.push(...eventRateLimits(cfg.rateLimits))

  const query: QueryPolicy[] = [filterLimits(cfg.limits)]
  const reads = restrictedReads(cfg.reads, ctx.lists, ctx.admins)
  if (reads) query.push(reads)
  query.push(...queryRateLimits(cfg.rateLimits))

  return {
    connect: [blockedIps(ctx.lists), connectionsPerIp(cfg.limits.maxConnectionsPerIp)],
    event,
    query,
  }
}

export type { Policies, ConnectionView, Lists, ListName } from './types'
