// Ledger driver: the Bitcoin app (app-bitcoin-new, 2.1 or newer) through `ledger-bitcoin`.
// - Multisig vaults are BIP388 wallet policies, `wsh(sortedmulti(k,@0/**,…))`: registered once
//   on the device (the owner checks name, policy and every key on its screen), which answers an
//   HMAC the box keeps (ledger-policies.ts) and hands back for every address and signature.
// - Single-sig BIP84 `wpkh(@0/**)` is one of the app's default policies: no registration.
// - The app's name and version are checked right after connecting, so a locked device, the
//   dashboard, another app, or an app too old for wallet policies is named before anything else.
// - Every signature the device returns is checked against its input before it enters the PSBT.
//
// The "Bitcoin Test" app shows testnet addresses (tb1…) for regtest and signet too: the same
// script, another prefix. The driver compares scripts, not address strings.
import { AppClient, DefaultWalletPolicy, WalletPolicy } from 'ledger-bitcoin'
import type Transport from '@ledgerhq/hw-transport'
import { HDKey } from '@scure/bip32'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Psbt } from 'bitcoinjs-lib'
import { address as baddress, networks } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { FlashError } from '../../errors'
import { checkHoldsVaultKey, checkShownAddress, versionAtLeast } from './device-checks'
import type { Cosigner, SignResult, VaultNetwork } from '../../../shared/api/hardware'
import {
  bitcoinNetwork,
  compareBytes,
  vaultAddress,
  xpubVersions,
  type Vault,
} from '../multisig/vault'
import { vaultView } from '../multisig/vault-exports'
import { checkPsbtBelongsToVault } from '../multisig/vault-psbt'
import { parsePsbt } from '../psbt-cosign'
import { bip48Path } from '../seed-signer'
import type { Signer } from '../signer'
import type { PolicyRegistrations } from './ledger-policies'
import { ledgerUsbError } from './ledger-usb'

/** The app version that speaks the protocol `ledger-bitcoin` uses (APDU P2 = 1) and BIP388. */
export const LEDGER_MIN_APP = '2.1.0'

const DEVICES_HINT = 'then try again from Devices.'

/** A status word or USB failure from the Ledger, in plain words. */
export function ledgerError(err: unknown): FlashError {
  if (err instanceof FlashError) return err
  const sw = (err as { statusCode?: unknown } | null)?.statusCode
  if (typeof sw !== 'number') {
    if ((err as { name?: string } | null)?.name === 'TransportRaceCondition')
      return new FlashError(
        'ledger.busy',
        'The Ledger is still busy with an earlier request.',
        `Finish or reject what the Ledger shows, ${DEVICES_HINT}`,
        { cause: err },
      )
    return ledgerUsbError(err)
  }
  const code = `0x${sw.toString(16).padStart(4, '0')}`
  switch (sw) {
    case 0x5515:
    case 0x6982:
      return new FlashError(
        'ledger.locked',
        'The Ledger is locked.',
        `Unlock it with its PIN on the device and open the Bitcoin app, ${DEVICES_HINT}`,
        { cause: err },
      )
    case 0x6e00:
    case 0x6e01:
    case 0x6d00:
    case 0x6d02:
    case 0x6511:
      return new FlashError(
        'ledger.wrong_app',
        'The Ledger is not in its Bitcoin app.',
        `Open the Bitcoin app on the Ledger (“Bitcoin Test” for a test network), ${DEVICES_HINT}`,
        { cause: err },
      )
    case 0x6985:
      return new FlashError(
        'ledger.rejected',
        'The request was rejected on the Ledger. Nothing was signed or changed.',
        `If that was not meant, start again and approve on the Ledger’s screen; ${DEVICES_HINT}`,
        { cause: err },
      )
    case 0xb008:
      return new FlashError(
        'ledger.registration_invalid',
        'The Ledger does not recognise this vault’s registration (it was made on another device or seed, or the device was reset).',
        'Register the vault on this Ledger again from Devices.',
        { cause: err },
      )
    default:
      return new FlashError(
        'ledger.refused',
        `The Ledger refused the request (status ${code}).`,
        `Check that the Ledger holds one of this vault’s keys and its Bitcoin app is up to date, ${DEVICES_HINT}`,
        { cause: err },
      )
  }
}

/** The app a network needs: "Bitcoin" for mainnet, "Bitcoin Test" for the test networks. */
export function ledgerAppFor(network: VaultNetwork): string {
  return network === 'mainnet' ? 'Bitcoin' : 'Bitcoin Test'
}

/**
 * Checks what the Ledger runs, right after connecting: the dashboard or another app, the wrong
 * Bitcoin app for the network, or a Bitcoin app older than 2.1.0 each gets its own message.
 */
export async function checkLedgerApp(
  client: AppClient,
  network: VaultNetwork,
): Promise<{ name: string; version: string }> {
  let app: { name: string; version: string }
  try {
    const { name, version } = await client.getAppAndVersion()
    app = { name, version }
  } catch (err) {
    throw ledgerError(err)
  }
  const wanted = ledgerAppFor(network)
  if (app.name === 'BOLOS')
    throw new FlashError(
      'ledger.wrong_app',
      'The Ledger shows its dashboard, not the Bitcoin app.',
      `Open the “${wanted}” app on the Ledger, ${DEVICES_HINT}`,
    )
  if (app.name !== wanted)
    throw new FlashError(
      'ledger.wrong_app',
      `The Ledger has the “${app.name}” app open; this needs “${wanted}”.`,
      `Close it and open “${wanted}” on the Ledger (install it with Ledger Live if it is missing), ${DEVICES_HINT}`,
    )
  if (!versionAtLeast(app.version, LEDGER_MIN_APP))
    throw new FlashError(
      'ledger.app_too_old',
      `The Ledger’s ${app.name} app is version ${app.version}; Flash Box needs ${LEDGER_MIN_APP} or newer for vault registration (BIP388 wallet policies) and signing.`,
      `Update the app in Ledger Live (My Ledger), close Ledger Live, ${DEVICES_HINT}`,
    )
  return app
}

/** The BIP388 policy a vault is registered as. Its name is what the Ledger shows (ASCII). */
export function vaultWalletPolicy(vault: Vault): WalletPolicy {
  const policy = vaultView(vault).walletPolicy
  if (!policy)
    throw new FlashError(
      'ledger.vault_unsupported',
      'A Ledger can cosign only vaults whose every key is an extended public key (xpub); this vault has a fixed HSM key.',
      'Make a vault of the Ledger, backup words or another device; an HSM key cannot be registered on a Ledger.',
    )
  const name =
    vault.name
      .replace(/[^\x20-\x7e]/g, '')
      .trim()
      .slice(0, 64) || 'Flash Box vault'
  return new WalletPolicy(name, policy.template, policy.keys)
}

function deviceNetwork(network: VaultNetwork) {
  return network === 'mainnet' ? networks.bitcoin : networks.testnet
}

export class LedgerSigner implements Signer {
  readonly kind = 'Ledger'

  private constructor(
    private readonly client: AppClient,
    private readonly network: VaultNetwork,
    private readonly registrations: PolicyRegistrations,
    private readonly fp: string,
    readonly app: { name: string; version: string },
  ) {}

  /** Checks the app and reads the master fingerprint. */
  static async connect(
    transport: Transport,
    network: VaultNetwork,
    registrations: PolicyRegistrations,
  ): Promise<LedgerSigner> {
    const client = new AppClient(transport)
    const app = await checkLedgerApp(client, network)
    const fp = await LedgerSigner.call(() => client.getMasterFingerprint())
    return new LedgerSigner(client, network, registrations, fp, app)
  }

  private static async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (err) {
      throw ledgerError(err)
    }
  }

  async fingerprint(): Promise<string> {
    return this.fp
  }

  private checkNetwork(network: VaultNetwork): void {
    if ((network === 'mainnet') !== (this.network === 'mainnet'))
      throw new FlashError(
        'ledger.wrong_network',
        `The Ledger was opened for ${this.network}, not ${network}.`,
        `Open “${ledgerAppFor(network)}” on the Ledger, ${DEVICES_HINT}`,
      )
  }

  async xpub(path: string, display = false): Promise<string> {
    const xpub = await LedgerSigner.call(() =>
      this.client.getExtendedPubkey(path.replace(/h/g, "'"), display),
    )
    try {
      HDKey.fromExtendedKey(xpub, xpubVersions(this.network))
    } catch (err) {
      throw new FlashError(
        'ledger.bad_xpub',
        'The Ledger answered with an extended key for another network.',
        `Open “${ledgerAppFor(this.network)}” on the Ledger, ${DEVICES_HINT}`,
        { cause: err },
      )
    }
    return xpub
  }

  async cosigner(
    network: VaultNetwork,
    name: string,
    path = bip48Path(network),
  ): Promise<Cosigner> {
    this.checkNetwork(network)
    return { kind: 'xpub', name, fingerprint: this.fp, path, xpub: await this.xpub(path) }
  }

  private policyId(policy: WalletPolicy): string {
    return bytesToHex(policy.getId())
  }

  private ownKeyIn(vault: Vault): void {
    checkHoldsVaultKey(vault, this.fp, 'Ledger')
  }

  /** Whether this vault's policy is registered on this device (the box holds its HMAC). */
  isRegistered(vault: Vault): boolean {
    return this.registrations.hmac(this.fp, this.policyId(vaultWalletPolicy(vault))) !== undefined
  }

  /**
   * Registers the vault on the Ledger (the owner approves its name, policy and keys on the
   * device) and keeps the returned HMAC. Returns the policy id, hex.
   */
  async registerVault(vault: Vault): Promise<string> {
    this.checkNetwork(vault.network)
    this.ownKeyIn(vault)
    const policy = vaultWalletPolicy(vault)
    // The HMAC can be kept (the box is not locked) before the owner approves on the device.
    this.registrations.hmac(this.fp, this.policyId(policy))
    const [id, hmac] = await LedgerSigner.call(() => this.client.registerWallet(policy))
    const policyId = bytesToHex(id)
    if (policyId !== this.policyId(policy))
      throw new FlashError(
        'ledger.refused',
        'The Ledger registered a different policy than the one sent.',
        'Do not use this device for the vault; check it with its maker.',
      )
    // registerWallet has read back address 0 and checked it with a second implementation; the
    // box checks the script against its own derivation as well before keeping the HMAC.
    const first = await LedgerSigner.call(() =>
      this.client.getWalletAddress(policy, hmac, 0, 0, false),
    )
    this.checkSameScript(vault, first, 0, 0)
    this.registrations.save(this.fp, policyId, policy.name, hmac)
    return policyId
  }

  private hmacFor(vault: Vault): { policy: WalletPolicy; hmac: Buffer } {
    const policy = vaultWalletPolicy(vault)
    const hmac = this.registrations.hmac(this.fp, this.policyId(policy))
    if (!hmac)
      throw new FlashError(
        'ledger.not_registered',
        `The vault “${vault.name}” is not registered on this Ledger yet.`,
        'Register it on the Ledger from Devices (you approve it once on the device).',
      )
    return { policy, hmac: Buffer.from(hmac) }
  }

  private checkSameScript(vault: Vault, shown: string, chain: 0 | 1, index: number): string {
    return checkShownAddress(shown, {
      expected: vaultAddress(vault, chain, index),
      deviceNetwork: deviceNetwork(vault.network),
      device: 'Ledger',
      code: 'ledger.address_mismatch',
      hint: 'Check that the vault on the Ledger is this one (register it again from Devices if it was changed).',
    })
  }

  async displayAddress(vault: Vault, chain: 0 | 1, index: number): Promise<string> {
    this.checkNetwork(vault.network)
    const { policy, hmac } = this.hmacFor(vault)
    const shown = await LedgerSigner.call(() =>
      this.client.getWalletAddress(policy, hmac, chain, index, true),
    )
    return this.checkSameScript(vault, shown, chain, index)
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    this.checkNetwork(vault.network)
    checkPsbtBelongsToVault(vault, psbtBase64)
    this.ownKeyIn(vault)
    const { policy, hmac } = this.hmacFor(vault)
    const sigs = await LedgerSigner.call(() => this.client.signPsbt(psbtBase64, policy, hmac))
    return addSignatures(psbtBase64, sigs, bitcoinNetwork(vault.network))
  }

  // ---- single-sig BIP84 (a default policy: nothing to register) ----

  /** `[fp/84'/coin'/account']xpub`, the key of the BIP84 account. */
  async wpkhKey(account = 0): Promise<string> {
    const path = `m/84'/${this.network === 'mainnet' ? 0 : 1}'/${account}'`
    return `[${this.fp}${path.slice(1)}]${await this.xpub(path)}`
  }

  private async wpkhPolicy(account: number): Promise<DefaultWalletPolicy> {
    return new DefaultWalletPolicy('wpkh(@0/**)', await this.wpkhKey(account))
  }

  /** Shows a BIP84 address on the Ledger; returns it in the box network's form. */
  async displayWpkhAddress(account: number, chain: 0 | 1, index: number): Promise<string> {
    const policy = await this.wpkhPolicy(account)
    const shown = await LedgerSigner.call(() =>
      this.client.getWalletAddress(policy, null, chain, index, true),
    )
    const script = baddress.toOutputScript(shown, deviceNetwork(this.network))
    return baddress.fromOutputScript(script, bitcoinNetwork(this.network))
  }

  /** Signs the PSBT's inputs of the BIP84 account. */
  async signWpkhPsbt(psbtBase64: string, account = 0): Promise<SignResult> {
    const policy = await this.wpkhPolicy(account)
    const sigs = await LedgerSigner.call(() => this.client.signPsbt(psbtBase64, policy, null))
    return addSignatures(psbtBase64, sigs, bitcoinNetwork(this.network))
  }
}

/**
 * Puts the device's signatures into the PSBT, each checked first against its input's digest and
 * its input's key: a signature that does not verify is refused and nothing is returned.
 */
export function addSignatures(
  psbtBase64: string,
  sigs: readonly (readonly [number, { pubkey: Buffer; signature: Buffer }])[],
  network: ReturnType<typeof bitcoinNetwork>,
): SignResult {
  const psbt: Psbt = parsePsbt(psbtBase64, network)
  const signed = new Set<number>()
  for (const [i, sig] of sigs) {
    const input = psbt.data.inputs[i]
    const pubkey = Uint8Array.from(sig.pubkey)
    const signature = Uint8Array.from(sig.signature)
    const known = input?.bip32Derivation?.some((d) => compareBytes(d.pubkey, pubkey) === 0)
    if (!input || !known || pubkey.length !== 33)
      throw new FlashError(
        'psbt.bad_signature',
        `The device returned a signature for input ${i} with a key that input does not use. Nothing was changed.`,
        'Do not broadcast. Check that the device holds one of the vault’s keys, then sign again from Devices.',
      )
    if (input.partialSig?.some((s) => compareBytes(s.pubkey, pubkey) === 0)) continue
    psbt.updateInput(i, { partialSig: [{ pubkey, signature }] })
    const ok = psbt.validateSignaturesOfInput(
      i,
      (pk, msghash, s) => ecc.verify(msghash, pk, s, true),
      pubkey,
    )
    if (!ok)
      throw new FlashError(
        'psbt.bad_signature',
        `The signature the device made for input ${i} does not verify. Nothing was changed.`,
        'Do not broadcast. Sign again from Devices; if it happens again, stop using this device.',
      )
    signed.add(i)
  }
  if (signed.size === 0 && sigs.length === 0)
    throw new FlashError(
      'signer.nothing_signed',
      'The device signed none of the inputs.',
      'Check that the PSBT spends coins of this device’s wallet or vault.',
    )
  return {
    psbt: psbt.toBase64(),
    signedInputs: [...signed].sort((a, b) => a - b),
    normalisedHighS: 0,
  }
}
