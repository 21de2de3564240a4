// What an operator composes: the relay's policies. The schema is shared with the engine API and
// the Relay page (src/shared/api/relay.ts, zod only); src/policies turns it into hook lists.
import { RelayPolicySchema, type RelayPolicy } from '../../../src/shared/api/relay'

export { RelayPolicySchema, BucketSchema } from '../../../src/shared/api/relay'
export type { RelayPolicy, RelayPolicyInput, Bucket } from '../../../src/shared/api/relay'

export function parsePolicy(input: unknown): RelayPolicy {
  return RelayPolicySchema.parse(input ?? {})
}
