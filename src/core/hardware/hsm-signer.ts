// The HSM as a vault cosigner: a fixed secp256k1 key inside a PKCS#11 token (see
// multisig/vault.ts for what a fixed key means for addresses). It has no screen, so addresses are
// checked by the box and by the other cosigners' devices, not by the HSM.
import { bytesToHex } from '@noble/hashes/utils.js'
import { FlashError } from '../errors'
import type { Cosigner, SignResult, VaultNetwork } from '../../shared/api/hardware'
import { cosignPsbt } from './psbt-cosign'
import { bitcoinNetwork, keyFingerprint, type Vault } from './multisig/vault'
import { checkPsbtBelongsToVault } from './multisig/vault-psbt'
import type { Signer } from './signer'
import type { TokenSession } from './pkcs11/pkcs11-token'
import { signDigest, type HsmKey } from './pkcs11/secp256k1-key'

export class HsmSigner implements Signer {
  readonly kind = 'HSM'

  constructor(
    private readonly session: TokenSession,
    private readonly key: HsmKey,
  ) {}

  get publicKey(): Uint8Array {
    return this.key.publicKey
  }

  async fingerprint(): Promise<string> {
    return keyFingerprint(this.key.publicKey)
  }

  async cosigner(_network: VaultNetwork, name: string, path?: string): Promise<Cosigner> {
    if (path && path !== 'm')
      throw new FlashError(
        'hsm.no_bip32',
        'An HSM key has no derivation paths (PKCS#11 has no BIP32).',
        'Use the HSM key as it is; the vault’s other keys give each address its own script.',
      )
    return {
      kind: 'fixed',
      name,
      fingerprint: await this.fingerprint(),
      publicKey: bytesToHex(this.key.publicKey),
    }
  }

  async displayAddress(): Promise<undefined> {
    return undefined
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    const mine = bytesToHex(this.key.publicKey)
    if (!vault.cosigners.some((c) => c.kind === 'fixed' && c.publicKey === mine))
      throw new FlashError(
        'signer.not_in_vault',
        `The HSM’s key is not one of the keys of the vault “${vault.name}”.`,
        'Choose the HSM token and key this vault was made with in Settings → HSM.',
      )
    checkPsbtBelongsToVault(vault, psbtBase64)
    return cosignPsbt(
      psbtBase64,
      { publicKey: this.key.publicKey, signDigest: (d) => signDigest(this.session, this.key, d) },
      bitcoinNetwork(vault.network),
    )
  }
}
