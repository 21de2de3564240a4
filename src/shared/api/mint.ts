// The mint domain of the API: procedures (zod inputs, typed outputs) and events.
// Owned by the mint work; see src/shared/api/procedure.ts for the shape.
import type { Domain } from './procedure'

export const mintApi = {} satisfies Domain

export type MintEvent = { topic: 'mint'; type: 'placeholder' }
