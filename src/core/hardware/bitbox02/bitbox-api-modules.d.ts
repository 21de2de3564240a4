// bitbox-api ships types for its entry module only; bitbox02-signer.ts loads the two files behind
// it itself (to instantiate the WebAssembly without Node's experimental wasm-module loader).
declare module 'bitbox-api/bitbox_api_bg.js' {
  const bg: Record<string, unknown>
  export = bg
}
declare module 'bitbox-api/webhid.js' {
  const webhid: Record<string, unknown>
  export = webhid
}
