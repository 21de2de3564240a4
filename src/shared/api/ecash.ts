// The ecash domain of the API: procedures (zod inputs, typed outputs) and events.
// Owned by the ecash work; see src/shared/api/procedure.ts for the shape.
import type { Domain } from './procedure'

export const ecashApi = {} satisfies Domain

export type EcashEvent = { topic: 'ecash'; type: 'placeholder' }
