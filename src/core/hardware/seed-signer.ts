// A signer from a BIP32 root held in memory: the vault's offline backup key (BIP39 words typed in
// for a recovery) or any software key. It signs the inputs whose key origins name its fingerprint,
// deriving each input's key from the path the PSBT gives, and only if the derived key is in the
// input's witness script (cosignPsbt checks that).
import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { FlashError } from '../errors'
import type { Cosigner, SignResult, VaultNetwork } from '../../shared/api/hardware'
import { cosignPsbt } from './psbt-cosign'
import { bitcoinNetwork, keyFingerprint, xpubVersions, type Vault } from './multisig/vault'
import { checkPsbtBelongsToVault } from './multisig/vault-psbt'
import type { Signer } from './signer'

/** BIP48 P2WSH multisig account path for `network`, account 0: m/48'/coin'/0'/2'. */
export function bip48Path(network: VaultNetwork, account = 0): string {
  return `m/48h/${network === 'mainnet' ? 0 : 1}h/${account}h/2h`
}

export class SeedSigner implements Signer {
  readonly kind = 'Backup key'

  private constructor(private readonly root: HDKey) {}

  static fromWords(words: string, passphrase = ''): SeedSigner {
    const normalised = words.trim().toLowerCase().split(/\s+/).join(' ')
    if (!validateMnemonic(normalised, wordlist))
      throw new FlashError(
        'seed.bad_words',
        'These backup words are not a valid BIP39 phrase (a word is wrong, missing or out of order).',
        'Check each word against the recovery sheet and type them again.',
      )
    return new SeedSigner(HDKey.fromMasterSeed(mnemonicToSeedSync(normalised, passphrase)))
  }

  static fromSeed(seed: Uint8Array): SeedSigner {
    return new SeedSigner(HDKey.fromMasterSeed(seed))
  }

  async fingerprint(): Promise<string> {
    return keyFingerprint(this.root.publicKey!)
  }

  async cosigner(
    network: VaultNetwork,
    name: string,
    path = bip48Path(network),
  ): Promise<Cosigner> {
    const account = this.root.derive(path.replace(/h/g, "'"))
    const versioned = new HDKey({
      versions: xpubVersions(network),
      depth: account.depth,
      index: account.index,
      parentFingerprint: account.parentFingerprint,
      chainCode: account.chainCode!,
      publicKey: account.publicKey!,
    })
    return {
      kind: 'xpub',
      name,
      fingerprint: await this.fingerprint(),
      path,
      xpub: versioned.publicExtendedKey,
    }
  }

  async displayAddress(): Promise<undefined> {
    return undefined
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    const fp = await this.fingerprint()
    const psbt = checkPsbtBelongsToVault(vault, psbtBase64)
    const paths = new Set<string>()
    for (const input of psbt.data.inputs)
      for (const d of input.bip32Derivation ?? [])
        if (bytesToHex(d.masterFingerprint) === fp) paths.add(d.path)
    if (paths.size === 0)
      throw new FlashError(
        'signer.wrong_seed',
        `This PSBT has no input for the key with fingerprint ${fp}.`,
        'Check that these are the words of one of the vault’s keys (the fingerprint is on the recovery sheet).',
      )
    let out: SignResult = { psbt: psbtBase64, signedInputs: [], normalisedHighS: 0 }
    for (const path of paths) {
      const child = this.root.derive(path.replace(/h/g, "'"))
      const priv = child.privateKey!
      const r = cosignPsbt(
        out.psbt,
        {
          publicKey: child.publicKey!,
          signDigest: (d) => ({
            compact: secp256k1.sign(d, priv, { prehash: false, lowS: true }),
            normalised: false,
          }),
        },
        bitcoinNetwork(vault.network),
      )
      out = {
        psbt: r.psbt,
        signedInputs: [...out.signedInputs, ...r.signedInputs],
        normalisedHighS: 0,
      }
    }
    return { ...out, signedInputs: [...out.signedInputs].sort((a, b) => a - b) }
  }
}
