// One interface for everything that can sign for a vault (after HWI's commands and LND's remote
// signer): the master fingerprint, a public key at a path, an address shown on the signer's own
// screen, and PSBT signing. PSBTs go in and out as base64 so drivers built on other bitcoinjs-lib
// versions (or other languages) plug in without sharing objects.
import type { Cosigner, SignResult, VaultNetwork } from '../../shared/api/hardware'
import type { Vault } from './multisig/vault'

export interface Signer {
  /** What kind of signer this is, for messages: "HSM", "Coldcard (SD card)". */
  readonly kind: string
  /** BIP32 master fingerprint, 8 hex characters (for a fixed key: its own key fingerprint). */
  fingerprint(): Promise<string>
  /**
   * The key this signer brings to a vault on `network`: an extended key at `path` (BIP48
   * m/48'/coin'/account'/2' by default), or a fixed key for signers without BIP32 (an HSM).
   */
  cosigner(network: VaultNetwork, name: string, path?: string): Promise<Cosigner>
  /**
   * Shows the vault's address on the signer's own screen and returns it as the signer derived it;
   * `undefined` for signers without a screen (the caller must say the address was not verified).
   */
  displayAddress(vault: Vault, chain: 0 | 1, index: number): Promise<string | undefined>
  /** Adds this signer's signatures to the PSBT's inputs it has a key for. */
  signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult>
}
