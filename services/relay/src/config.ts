// What an operator composes: the relay's policies (policy-schema.ts, which the engine's API and
// the Relay page use too); src/policies turns them into hook lists.
import { RelayPolicySchema, type RelayPolicy } from './policy-schema'

export { RelayPolicySchema, BucketSchema } from './policy-schema'
export type { RelayPolicy, RelayPolicyInput, Bucket } from './policy-schema'

export function parsePolicy(input: unknown): RelayPolicy {
  return RelayPolicySchema.parse(input ?? {})
}
