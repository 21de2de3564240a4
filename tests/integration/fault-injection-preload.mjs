// Loaded with `node --import` into the mint process the crash tests spawn: turns on the mint's
// TEST-ONLY fault-injection hook (services/mint/src/fault-injection.ts). Nothing else loads it.
globalThis.FLASHBOX_FAULT_INJECTION = true
