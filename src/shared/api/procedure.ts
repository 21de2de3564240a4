// One typed API, served two ways (Electron IPC and headless HTTP + WebSocket).
// A domain declares its procedures here in src/shared (zod input schemas + output types);
// the engine implements them (src/core/api), and the renderer calls them through one client.
import type { z } from 'zod'

export type ProcedureKind = 'query' | 'mutation'

export interface Procedure<I extends z.ZodType, O> {
  readonly kind: ProcedureKind
  readonly input: I
  /** Phantom: carries the output type only. */
  readonly output?: O
}

/** `query<Output>()(inputSchema)` — reads state, never changes it. */
export const query =
  <O>() =>
  <I extends z.ZodType>(input: I): Procedure<I, O> => ({ kind: 'query', input })

/** `mutation<Output>()(inputSchema)` — changes state; headless mode checks Origin for these. */
export const mutation =
  <O>() =>
  <I extends z.ZodType>(input: I): Procedure<I, O> => ({ kind: 'mutation', input })

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProcedure = Procedure<any, any>
export type Domain = Record<string, AnyProcedure>
export type Contract = Record<string, Domain>

export type InputOf<P> = P extends Procedure<infer I, unknown> ? z.input<I> : never
export type ParsedInputOf<P> = P extends Procedure<infer I, unknown> ? z.output<I> : never
export type OutputOf<P> = P extends Procedure<z.ZodType, infer O> ? O : never

/** What the renderer calls: `client.stack.status({})`. */
export type ClientOf<C extends Contract> = {
  [D in keyof C]: { [P in keyof C[D]]: (input: InputOf<C[D][P]>) => Promise<OutputOf<C[D][P]>> }
}

/** What the engine implements for one domain. */
export type HandlersOf<D extends Domain, Ctx> = {
  [P in keyof D]: (input: ParsedInputOf<D[P]>, ctx: Ctx) => Promise<OutputOf<D[P]>>
}
