// The stack domain of the API: procedures (zod inputs, typed outputs) and events.
// Owned by the stack work; see src/shared/api/procedure.ts for the shape.
import type { Domain } from './procedure'

export const stackApi = {} satisfies Domain

export type StackEvent = { topic: 'stack'; type: 'placeholder' }
