// The nostr domain of the API: procedures (zod inputs, typed outputs) and events.
// Owned by the nostr work; see src/shared/api/procedure.ts for the shape.
import type { Domain } from './procedure'

export const nostrApi = {} satisfies Domain

export type NostrEvent = { topic: 'nostr'; type: 'placeholder' }
