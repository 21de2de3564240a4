// The relay domain of the API: procedures (zod inputs, typed outputs) and events.
// Owned by the relay work; see src/shared/api/procedure.ts for the shape.
import type { Domain } from './procedure'

export const relayApi = {} satisfies Domain

export type RelayEvent = { topic: 'relay'; type: 'placeholder' }
