// Small hooks over the API client: load data, run a change, listen to events.
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type DependencyList,
} from 'react'
import type { EngineEvent, EventTopic } from '../../shared/api/events'
import { subscribe } from './client'
import { toApiError, type ApiError } from './transport'

export interface QueryState<T> {
  readonly data: T | undefined
  readonly error: ApiError | undefined
  readonly loading: boolean
  refresh(): void
  /** Update the data in place (from an event) without a round trip. */
  setData(update: T | ((prev: T | undefined) => T | undefined)): void
}

/** Run `load` on mount and whenever `deps` change; the last answer wins. */
export function useQuery<T>(load: () => Promise<T>, deps: DependencyList): QueryState<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  useLayoutEffect(() => {
    loadRef.current = load
  })

  useEffect(() => {
    let alive = true
    // Data fetching is the one place an effect sets state before awaiting: the spinner shows
    // at once on a refresh rather than after the answer.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setLoading(true)
    loadRef.current().then(
      (v) => {
        if (!alive) return
        setData(v)
        setError(undefined)
        setLoading(false)
      },
      (err: unknown) => {
        if (!alive) return
        setError(toApiError(err))
        setLoading(false)
      },
    )
    return () => {
      alive = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick])

  const refresh = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, refresh, setData: setData as QueryState<T>['setData'] }
}

export interface MutationState<I, O> {
  run(input: I): Promise<O | undefined>
  readonly pending: boolean
  readonly error: ApiError | undefined
  reset(): void
}

/** A change the user asks for: tracks pending and the last error (never throws). */
export function useMutation<I, O>(fn: (input: I) => Promise<O>): MutationState<I, O> {
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const fnRef = useRef(fn)
  useLayoutEffect(() => {
    fnRef.current = fn
  })
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])

  const run = useCallback(async (input: I) => {
    setPending(true)
    setError(undefined)
    try {
      const out = await fnRef.current(input)
      return out
    } catch (err) {
      if (mounted.current) setError(toApiError(err))
      return undefined
    } finally {
      if (mounted.current) setPending(false)
    }
  }, [])
  const reset = useCallback(() => setError(undefined), [])
  return { run, pending, error, reset }
}

type EventOf<T extends EventTopic> = Extract<EngineEvent, { topic: T }>

/** Call `fn` for every event of `topic` while the component is mounted. */
export function useEvent<T extends EventTopic>(topic: T, fn: (event: EventOf<T>) => void): void {
  const fnRef = useRef(fn)
  useLayoutEffect(() => {
    fnRef.current = fn
  })
  useEffect(() => subscribe([topic], (e) => fnRef.current(e as EventOf<T>)), [topic])
}
