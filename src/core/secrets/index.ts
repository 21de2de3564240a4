// Public surface of the box's secret store.
export {
  loadOrCreateStackSecrets,
  stackSecretsPath,
  secretsDir,
  generatePassword,
} from './stack-secrets'
export { rpcauthValue, rpcauthMatches, generateRpcauthSalt } from './rpcauth'
export { generateLndTls, certThumbprint, lndTlsNames, type LndTlsMaterial } from './lnd-tls'
export { writeSecretFileAtomic, createSecretFileExclusive } from './secret-file'
