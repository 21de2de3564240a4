// ln-service ships no type declarations; it re-exports the `lightning` package, which does.
declare module 'ln-service' {
  export * from 'lightning'
}
