// A BitBox02 as a vault signer (signer.ts), through BitBox's own library `bitbox-api` (Rust
// compiled to WebAssembly). In Node it reaches the device only through the BitBoxBridge helper
// program (WebHID exists in browsers only), so the Devices page says the bridge is needed.
//
// The BitBox02 signs for a multisig only after the multisig is registered on it (the user checks
// the keys and names it on the device), and it derives every cosigner's key per address from an
// xpub. A vault with a fixed key (the HSM's) cannot be registered: the BitBox02 then refuses it in
// plain words, and another device is used for that vault.
//
// The library is loaded by instantiating its WebAssembly file directly, so it needs no
// experimental WebAssembly-module support in Node or Electron.
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import { bytesToHex } from '@noble/hashes/utils.js'
import * as ecc from 'tiny-secp256k1'
import type * as BitboxApi from 'bitbox-api'
import { FlashError } from '../../errors'
import type { Cosigner, SignResult, VaultNetwork } from '../../../shared/api/hardware'
import { bitcoinNetwork, compareBytes, vaultAddress, type Vault } from '../multisig/vault'
import { checkPsbtBelongsToVault } from '../multisig/vault-psbt'
import { parsePsbt } from '../psbt-cosign'
import { bip48Path } from '../seed-signer'
import type { Signer } from '../signer'

export type PairedBitBox = Pick<
  BitboxApi.PairedBitBox,
  | 'rootFingerprint'
  | 'btcXpub'
  | 'btcAddress'
  | 'btcSignPSBT'
  | 'btcIsScriptConfigRegistered'
  | 'btcRegisterScriptConfig'
  | 'version'
  | 'product'
  | 'close'
>
type Api = Pick<typeof BitboxApi, 'bitbox02ConnectBridge' | 'ensureError' | 'isUserAbort'>

let api: Promise<Api> | undefined

// This project's TypeScript libs do not describe WebAssembly (no DOM lib): the two calls used.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }>
    }
  }
).WebAssembly

/** bitbox-api, with its WebAssembly instantiated by hand (see the top of this file). */
export function loadBitboxApi(): Promise<Api> {
  api ??= (async () => {
    const require = createRequire(import.meta.url)
    const bg = (await import('bitbox-api/bitbox_api_bg.js')) as unknown as Api & {
      __wbg_set_wasm(exports: object): void
    }
    const webhid: object = await import('bitbox-api/webhid.js')
    const bytes = await readFile(require.resolve('bitbox-api/bitbox_api_bg.wasm'))
    const { instance } = await wasm.instantiate(bytes, {
      './bitbox_api_bg.js': bg,
      './webhid.js': webhid,
    })
    bg.__wbg_set_wasm(instance.exports)
    return bg
  })()
  return api
}

/** BitBox coin names: regtest is "rbtc", testnet and signet "tbtc". */
export function bitboxCoin(network: VaultNetwork): 'btc' | 'tbtc' | 'rbtc' {
  return network === 'mainnet' ? 'btc' : network === 'regtest' ? 'rbtc' : 'tbtc'
}

/** The oldest BitBox02 firmware Flash Box signs with (multisig registration by name, regtest). */
export const BITBOX02_MIN_FIRMWARE: [number, number, number] = [9, 15, 0]

export function bitboxFirmwareTooOld(version: string): string | undefined {
  const v = version.replace(/^v/, '').split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    const have = v[i] ?? 0
    const need = BITBOX02_MIN_FIRMWARE[i]!
    if (have > need) return undefined
    if (have < need)
      return `This BitBox02 runs firmware ${version}; Flash Box needs ${BITBOX02_MIN_FIRMWARE.join('.')} or newer. Update it in the BitBoxApp, then plug it in here again.`
  }
  return undefined
}

/** bitbox-api's errors in plain words. */
export async function bitboxError(err: unknown): Promise<FlashError> {
  if (err instanceof FlashError) return err
  const lib = await loadBitboxApi()
  const e = lib.ensureError(err)
  if (lib.isUserAbort(e))
    return new FlashError(
      'signer.rejected',
      'The action was declined on the BitBox02. Nothing was signed.',
      'Try again and confirm on the BitBox02 if everything it shows is right.',
    )
  if (e.code === 'could-not-open')
    return new FlashError(
      'bitbox02.needs_bridge',
      'Flash Box reaches a BitBox02 through the BitBoxBridge program, and it is not running (or the BitBox02 is not plugged in).',
      'Install and start BitBoxBridge from BitBox’s website, plug the BitBox02 in, and try again.',
    )
  return new FlashError(
    'bitbox02.failure',
    `The BitBox02 answered: ${e.message}.`,
    'Unplug the BitBox02, plug it in again and retry.',
  )
}

/**
 * Connects through BitBoxBridge and pairs. The pairing code (first connection only) must be shown
 * to the user, who compares it with the one on the BitBox02 and confirms there.
 */
export async function connectBitBox02(
  onPairingCode: (code: string) => void,
  onClose?: () => void,
): Promise<PairedBitBox> {
  const lib = await loadBitboxApi()
  try {
    const unpaired = await lib.bitbox02ConnectBridge(onClose)
    const pairing = await unpaired.unlockAndPair()
    const code = pairing.getPairingCode()
    if (code) onPairingCode(code)
    return await pairing.waitConfirm()
  } catch (err) {
    throw await bitboxError(err)
  }
}

export class BitBox02Signer implements Signer {
  readonly kind = 'BitBox02'

  constructor(private readonly device: PairedBitBox) {}

  private async guarded<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (err) {
      throw await bitboxError(err)
    }
  }

  firmwareProblem(): string | undefined {
    return bitboxFirmwareTooOld(this.device.version())
  }

  async fingerprint(): Promise<string> {
    return this.guarded(async () => (await this.device.rootFingerprint()).toLowerCase())
  }

  async cosigner(
    network: VaultNetwork,
    name: string,
    path = bip48Path(network),
  ): Promise<Cosigner> {
    const fingerprint = await this.fingerprint()
    const xpub = await this.guarded(() =>
      this.device.btcXpub(
        bitboxCoin(network),
        path.replace(/h/g, "'"),
        network === 'mainnet' ? 'xpub' : 'tpub',
        false,
      ),
    )
    return { kind: 'xpub', name, fingerprint, path, xpub }
  }

  /** The vault as the BitBox02's multisig script config, and this device's key path in it. */
  private async scriptConfig(vault: Vault) {
    const fp = await this.fingerprint()
    const ours = vault.cosigners.findIndex((c) => c.fingerprint === fp)
    const own = vault.cosigners[ours]
    if (!own || own.kind !== 'xpub')
      throw new FlashError(
        'signer.wrong_device',
        `This BitBox02 (wallet fingerprint ${fp}) holds none of the vault “${vault.name}”’s keys.`,
        'Plug in the BitBox02 that was used to make the vault (its fingerprint is on the recovery sheet).',
      )
    const xpubs = vault.cosigners.map((c) => (c.kind === 'xpub' ? c.xpub : undefined))
    if (xpubs.some((x) => x === undefined))
      throw new FlashError(
        'bitbox02.fixed_key',
        'A BitBox02 can sign only for vaults whose keys are all extended keys (xpubs); this vault has a fixed HSM key.',
        'Use another device (a Trezor, or a Coldcard by microSD) as this vault’s hardware wallet.',
      )
    const config = {
      multisig: {
        threshold: vault.threshold,
        xpubs: xpubs as string[],
        ourXpubIndex: ours,
        scriptType: 'p2wsh' as const,
      },
    }
    return { config, keypath: own.path.replace(/h/g, "'") }
  }

  /** Registers the vault on the BitBox02 if it is not yet (the user confirms the keys there). */
  private async registered(vault: Vault) {
    const { config, keypath } = await this.scriptConfig(vault)
    const coin = bitboxCoin(vault.network)
    await this.guarded(async () => {
      if (!(await this.device.btcIsScriptConfigRegistered(coin, config, keypath)))
        await this.device.btcRegisterScriptConfig(
          coin,
          config,
          keypath,
          'autoXpubTpub',
          vault.name.slice(0, 30),
        )
    })
    return { config, keypath, coin }
  }

  async displayAddress(vault: Vault, chain: 0 | 1, index: number): Promise<string> {
    const { config, keypath, coin } = await this.registered(vault)
    const expected = vaultAddress(vault, chain, index).address
    const shown = await this.guarded(() =>
      this.device.btcAddress(coin, `${keypath}/${chain}/${index}`, config, true),
    )
    if (shown !== expected)
      throw new FlashError(
        'signer.address_mismatch',
        `The BitBox02 derived ${shown}, but the vault’s address ${index} is ${expected}. Do not use this address.`,
        'Check that the vault’s keys are right (the recovery sheet) and that this is the BitBox02 that made it.',
      )
    return expected
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    const psbt = checkPsbtBelongsToVault(vault, psbtBase64)
    const { config, keypath, coin } = await this.registered(vault)
    const fp = await this.fingerprint()
    const signedBase64 = await this.guarded(() =>
      this.device.btcSignPSBT(coin, psbtBase64, { scriptConfig: config, keypath }, 'default'),
    )
    // Only this device's signatures are taken from its answer, each verified, into the PSBT
    // that was sent; the answer must be the same transaction.
    const answer = parsePsbt(signedBase64, bitcoinNetwork(vault.network))
    if (
      bytesToHex(answer.data.globalMap.unsignedTx.toBuffer()) !==
      bytesToHex(psbt.data.globalMap.unsignedTx.toBuffer())
    )
      throw notSameTx()
    const signedInputs: number[] = []
    psbt.data.inputs.forEach((input, i) => {
      const own = input.bip32Derivation?.find((d) => bytesToHex(d.masterFingerprint) === fp)
      if (!own) return
      if (input.partialSig?.some((s) => compareBytes(s.pubkey, own.pubkey) === 0)) return
      const sig = answer.data.inputs[i]!.partialSig?.find(
        (s) => compareBytes(s.pubkey, own.pubkey) === 0,
      )
      if (!sig) return
      psbt.updateInput(i, { partialSig: [sig] })
      const ok = psbt.validateSignaturesOfInput(
        i,
        (pk, h, s) => ecc.verify(h, pk, s, true),
        own.pubkey,
      )
      if (!ok)
        throw new FlashError(
          'psbt.bad_signature',
          `The BitBox02’s signature for input ${i} does not verify. Nothing was kept.`,
          'Check that this is the right BitBox02 and try again; do not broadcast.',
        )
      signedInputs.push(i)
    })
    return { psbt: psbt.toBase64(), signedInputs, normalisedHighS: 0 }
  }
}

function notSameTx(): FlashError {
  return new FlashError(
    'psbt.not_same_transaction',
    'The BitBox02 answered with a different transaction than the one sent. Nothing was kept.',
    'Unplug the BitBox02, plug it in again and retry.',
  )
}
