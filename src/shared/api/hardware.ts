// The hardware domain (issue 15): USB signing devices found on this computer, the HSM key held
// over PKCS#11, and k-of-n multisig vaults built from those keys. PSBTs cross this boundary as
// base64 strings (BIP174), descriptors as strings (BIP380/383/389).
import { z } from 'zod'
import { mutation, query } from './procedure'

export const vaultNetworks = ['mainnet', 'testnet', 'signet', 'regtest'] as const
export const VaultNetworkSchema = z.enum(vaultNetworks)
export type VaultNetwork = z.infer<typeof VaultNetworkSchema>

const Fingerprint = z
  .string()
  .regex(/^[0-9a-f]{8}$/, 'a master fingerprint is 8 hex characters, like d34db33f')
const CosignerName = z.string().trim().min(1).max(40)

/**
 * One key of a vault:
 * - xpub: an extended public key at a BIP48 path, from a hardware wallet, an air-gapped signer
 *   (its exported file) or a backup seed; the vault ranges over its /0/* and /1/* children;
 * - fixed: one public key with no BIP32 tree, what an HSM gives (PKCS#11 has no BIP32); its
 *   fingerprint is HASH160(key)[0:4]. It is the same in every address of the vault.
 */
export const CosignerSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('xpub'),
    name: CosignerName,
    fingerprint: Fingerprint,
    path: z
      .string()
      .regex(
        /^m(\/\d+['h]?)*$/,
        "a derivation path looks like m/48h/1h/0h/2h (h or ' for hardened)",
      ),
    xpub: z.string().regex(/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/, 'an xpub or tpub'),
  }),
  z.object({
    kind: z.literal('fixed'),
    name: CosignerName,
    fingerprint: Fingerprint,
    publicKey: z
      .string()
      .regex(/^0[23][0-9a-f]{64}$/, 'a compressed public key, 66 hex characters'),
  }),
])
export type Cosigner = z.infer<typeof CosignerSchema>

export const VaultInputSchema = z.object({
  name: z.string().trim().min(1).max(40),
  threshold: z.number().int().min(1).max(15),
  cosigners: z.array(CosignerSchema).min(2).max(15),
})

export type DeviceModel = 'ledger' | 'trezor' | 'coldcard' | 'bitbox02' | 'jade' | 'unknown-serial'

/**
 * What stands between a found device and signing, in the order a user fixes them:
 * - permission: the OS does not let Flash Box open it (Linux: udev rules missing);
 * - busy: another program holds it (Ledger Live, Trezor Suite, another wallet);
 * - locked: it needs its PIN on the device;
 * - wrong-app: a Ledger not in its Bitcoin app;
 * - needs-bridge: its library talks to it through a helper program that is not running;
 * - update-needed: its firmware is older than Flash Box needs;
 * - unsupported: it is found, but Flash Box has no driver for it yet (or cannot use it as it is);
 * - ready.
 */
export type DeviceState =
  | 'ready'
  | 'permission'
  | 'busy'
  | 'locked'
  | 'wrong-app'
  | 'needs-bridge'
  | 'update-needed'
  | 'unsupported'

export interface DeviceView {
  /** Stable within a session: bus and port path. */
  readonly id: string
  readonly model: DeviceModel
  /** As people call it: "Ledger Nano S Plus", "Blockstream Jade (CP210x serial)". */
  readonly modelName: string
  readonly vendorId: number
  readonly productId: number
  readonly state: DeviceState
  /** Plain sentence for the state, naming the usual culprit when busy. */
  readonly stateText: string
  /** What Flash Box can do with it today, in plain words. */
  readonly support: string
  /** Firmware version as the device reported it right after discovery, when its driver asks. */
  readonly firmware?: string
  /** The device can give a vault key, show addresses and sign from the Devices page. */
  readonly canSign?: boolean
}

export interface DevicesOverview {
  /** False where the computer has no USB subsystem visible to Flash Box (no /sys/bus/usb). */
  readonly usbAvailable: boolean
  readonly devices: readonly DeviceView[]
  /** Linux: the one command that installs the udev rules shipped with Flash Box. */
  readonly udevCommand?: string
  readonly note?: string
}

export type PinState = 'ok' | 'count-low' | 'final-try' | 'locked' | 'not-initialised'

export interface HsmToken {
  readonly slotId: string
  readonly label: string
  readonly serial: string
  readonly model: string
  readonly manufacturer: string
  readonly pin: PinState
}

export interface HsmStatus {
  readonly configured: boolean
  readonly modulePath?: string
  readonly tokenSerial?: string
  readonly keyLabel?: string
  /** The PIN is kept in a 0600 file so the HSM unlocks when the box starts. */
  readonly pinRemembered: boolean
  readonly unlocked: boolean
  /** The cosigner key, once made or found on the token. */
  readonly key?: { readonly publicKey: string; readonly fingerprint: string }
  /** Wrong PINs typed in a row since the last right one (the token's own count may differ). */
  readonly wrongPins: number
  readonly pinState?: PinState
}

/**
 * A PKCS#11 module is a shared library the engine loads into itself, so only an absolute path to
 * a library file is taken (…/libsofthsm2.so, …/opensc-pkcs11.dylib, C:\…\vendor.dll).
 */
export const ModulePath = z
  .string()
  .max(4096)
  .regex(
    /^(\/[^\0]*\.(so(\.\d+)*|dylib)|[A-Za-z]:\\[^\0]*\.dll)$/,
    'the full path of the HSM’s PKCS#11 library, like /usr/lib/softhsm/libsofthsm2.so',
  )

export const HsmSetupSchema = z.object({
  modulePath: ModulePath,
  tokenSerial: z.string().min(1).max(64),
  keyLabel: z
    .string()
    .trim()
    .min(1)
    .max(32)
    .regex(/^[A-Za-z0-9 ._-]+$/, 'letters, digits, spaces, dot, dash or underscore'),
  pin: z.string().min(4).max(255),
  rememberPin: z.boolean(),
})

export interface VaultView {
  readonly name: string
  readonly threshold: number
  readonly cosigners: readonly Cosigner[]
  readonly network: VaultNetwork
  /** BIP389 multipath descriptor with checksum, one line for receive and change. */
  readonly descriptor: string
  readonly receiveDescriptor: string
  readonly changeDescriptor: string
  readonly firstAddresses: readonly string[]
  /** BIP388 wallet policy (for Ledger registration); absent when a cosigner is a fixed key. */
  readonly walletPolicy?: { readonly template: string; readonly keys: readonly string[] }
  /** Why there is no BIP388 policy / BIP129 record / Coldcard file, in plain words. */
  readonly exportLimits: readonly string[]
  /** BIP129 (BSMS 1.0) descriptor record; absent when a cosigner is a fixed key. */
  readonly bsms?: string
  /** Coldcard's multisig setup file; absent when a cosigner is a fixed key. */
  readonly coldcardFile?: string
}

export interface SignResult {
  readonly psbt: string
  /** Inputs this signer added a signature to. */
  readonly signedInputs: readonly number[]
  /** Signatures whose S the HSM returned high and Flash Box replaced by n − S. */
  readonly normalisedHighS: number
}

export const PsbtBase64 = z
  .string()
  .min(10)
  .max(20_000_000)
  .regex(/^cHNidP8[A-Za-z0-9+/=]+$/, 'a PSBT in base64 (it starts with cHNidP8)')

export interface CardAnswer {
  /** 'waiting' until the Coldcard has written its file next to the exported one. */
  readonly state: 'waiting' | 'signed'
  readonly file?: string
  readonly result?: SignResult
}

const CardFolder = z.string().min(1).max(4096)
const CardFileName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, dash or underscore, at most 32')

const DeviceId = z.string().min(1).max(64)

/** Where the box stands with the Electrum server it follows the vault through. */
export type VaultSyncState = 'disabled' | 'connecting' | 'indexing' | 'ready' | 'offline'

/** A vault coin the box found on chain. */
export interface VaultCoinView {
  readonly outpoint: string
  readonly valueSat: number
  readonly address: string
  /** 0 receive, 1 change. */
  readonly chain: 0 | 1
  readonly index: number
  /** 0 while unconfirmed; confirmations count only once the block's Merkle proof checked out. */
  readonly confirmations: number
  /** Held by a signed spend that is not confirmed yet: not picked again. */
  readonly held: boolean
}

export interface VaultTxView {
  readonly txid: string
  readonly status: 'unconfirmed' | 'confirming' | 'confirmed' | 'replaced'
  readonly confirmations: number
  /** What the vault gained (positive) or spent (negative), fee included. */
  readonly netSat: number
  readonly feeSat?: number
  readonly firstSeen: string
}

/** A vault the box keeps: its exports, and what the box sees of it on chain. */
export interface SavedVaultView extends VaultView {
  readonly id: string
  readonly sync: {
    readonly state: VaultSyncState
    readonly problem?: string
    readonly tipHeight?: number
  }
  readonly balance: { readonly confirmedSat: number; readonly unconfirmedSat: number }
  readonly coins: readonly VaultCoinView[]
  readonly history: readonly VaultTxView[]
  /** The receive address handed out last (index and address). */
  readonly receive?: { readonly index: number; readonly address: string }
}

/**
 * A vault spend, a saga whose every step is written before the next begins:
 * - unsigned: the PSBT is built; signatures are being collected (nothing is held);
 * - signed: every signature checked, the final transaction kept (its coins are held); the owner
 *   reviews it and confirms the broadcast — or broadcasts it later, the same transaction;
 * - broadcasting: handed to the box's node; after a crash here the box asks its node and its
 *   chain view whether it arrived (broadcast) or not (back to signed);
 * - broadcast: the node accepted it; seen: the box's sync sees it on chain or in the mempool;
 * - refused: the node said no (its reason in words); discarded: the owner gave it up.
 */
export type VaultSpendState =
  'unsigned' | 'signed' | 'broadcasting' | 'broadcast' | 'seen' | 'refused' | 'discarded'

export interface VaultSpendOutput {
  readonly address?: string
  readonly valueSat: number
  /** Back to the vault's own change address. */
  readonly change: boolean
}

export interface VaultSpendReview {
  readonly id: string
  readonly vaultId: string
  readonly state: VaultSpendState
  /** Unsigned PSBT, base64, with what devices need (see vault-psbt.ts). */
  readonly psbt: string
  readonly coins: readonly { readonly outpoint: string; readonly valueSat: number }[]
  readonly inputSat: number
  /** Every output: payments and change. */
  readonly outputs: readonly VaultSpendOutput[]
  readonly feeSat: number
  /** Estimated before signing; exact (fee ÷ the final transaction's vsize) once signed. */
  readonly feeRate: number
  readonly vsize: number
  /** Coins came from pasted funding transactions (the offline fallback), not from the box's sync. */
  readonly offline: boolean
  readonly txid?: string
  /** The final transaction, hex, once signed: kept so it can always be broadcast later. */
  readonly hex?: string
  /** Why the node refused it, in words. */
  readonly failure?: string
  readonly createdAt: string
  readonly updatedAt: string
}

const VaultId = z.string().regex(/^vault-[0-9a-f]{16}$/, 'a vault id')
const SpendId = z.string().regex(/^[0-9a-f]{32}$/, 'a spend id')

/** Vaults the box keeps and follows on chain, and their spends. */
export const vaultApi = {
  vaults: query<readonly SavedVaultView[]>()(z.object({})),
  /** Keeps the vault and starts following its addresses through the box's Electrum server. */
  vaultSave: mutation<SavedVaultView>()(VaultInputSchema),
  /** The next unused receive address (watched from now on). */
  vaultReceive: mutation<{ readonly index: number; readonly address: string }>()(
    z.object({ vaultId: VaultId }),
  ),
  /**
   * Builds a spend from the vault's confirmed coins the box follows (largest first), change to the
   * next change address. `fundingTxs` is the offline fallback: coins from pasted transactions.
   */
  vaultSpendPrepare: mutation<VaultSpendReview>()(
    z.object({
      vaultId: VaultId,
      to: z.string().trim().min(14).max(100),
      amountSat: z.number().int().min(546).max(2_100_000_000_000_000),
      feeRate: z.number().min(1).max(1000),
      fundingTxs: z
        .array(
          z
            .string()
            .trim()
            .min(20)
            .max(2_000_000)
            .regex(/^[0-9a-fA-F]+$/, 'a raw transaction in hex'),
        )
        .max(20)
        .optional(),
    }),
  ),
  /** Joins signed copies, checks every signature and the threshold, keeps the final transaction. */
  vaultSpendFinalize: mutation<VaultSpendReview>()(
    z.object({ spendId: SpendId, psbts: z.array(PsbtBase64).min(1).max(15) }),
  ),
  /** The owner confirmed the review: sends the kept transaction through the box's node. */
  vaultSpendBroadcast: mutation<VaultSpendReview>()(z.object({ spendId: SpendId })),
  vaultSpendDiscard: mutation<VaultSpendReview>()(z.object({ spendId: SpendId })),
  vaultSpends: query<readonly VaultSpendReview[]>()(z.object({ vaultId: VaultId })),
  /** A signed PSBT file (binary, base64 or hex inside; sent here as the file's bytes in base64),
   * checked to be the same transaction, the vault's, and signed by `fingerprint`. */
  importSignedPsbt: mutation<SignResult>()(
    z.object({
      vault: VaultInputSchema,
      sentPsbt: PsbtBase64,
      fileBase64: z.string().min(8).max(27_000_000),
      fingerprint: Fingerprint,
    }),
  ),
}

/** Signing with a device found on USB (Trezor, BitBox02, and the drivers that register). */
export const deviceApi = {
  /** The device's key for a vault: its xpub at the BIP48 account path, with its fingerprint. */
  deviceCosigner: mutation<Cosigner>()(z.object({ deviceId: DeviceId })),
  /** Shows vault address `index` on the device's screen; answers it once the device agrees. */
  deviceShowAddress: mutation<{ readonly address: string }>()(
    z.object({
      deviceId: DeviceId,
      vault: VaultInputSchema,
      chain: z.union([z.literal(0), z.literal(1)]),
      index: z.number().int().min(0).max(0x7fffffff),
    }),
  ),
  /** Signs the vault PSBT on the device (the user confirms there); base64 in and out. */
  deviceSignPsbt: mutation<SignResult>()(
    z.object({ deviceId: DeviceId, psbt: PsbtBase64, vault: VaultInputSchema }),
  ),
}

export const hardwareApi = {
  devices: query<DevicesOverview>()(z.object({})),
  hsmTokens: query<readonly HsmToken[]>()(z.object({ modulePath: ModulePath })),
  hsmStatus: query<HsmStatus>()(z.object({})),
  hsmSetup: mutation<HsmStatus>()(HsmSetupSchema),
  hsmUnlock: mutation<HsmStatus>()(z.object({ pin: z.string().min(4).max(255) })),
  hsmLock: mutation<HsmStatus>()(z.object({})),
  hsmForget: mutation<HsmStatus>()(z.object({})),
  vaultPreview: query<VaultView>()(VaultInputSchema),
  hsmSignPsbt: mutation<SignResult>()(z.object({ psbt: PsbtBase64, vault: VaultInputSchema })),
  /** Coldcard by microSD: write NAME.psbt to the card's folder. */
  cardWritePsbt: mutation<{ readonly path: string }>()(
    z.object({ folder: CardFolder, name: CardFileName, psbt: PsbtBase64 }),
  ),
  /** Coldcard by microSD: read NAME-part.psbt / NAME-signed.psbt back and check it. */
  cardReadSigned: mutation<CardAnswer>()(
    z.object({
      folder: CardFolder,
      name: CardFileName,
      sentPsbt: PsbtBase64,
      vault: VaultInputSchema,
      fingerprint: Fingerprint,
    }),
  ),
  ...deviceApi,
  ...vaultApi,
}

export type HardwareEvent =
  | { topic: 'hardware'; type: 'devices'; overview: DevicesOverview }
  /** A BitBox02 pairing for the first time: the code to compare with its screen. */
  | { topic: 'hardware'; type: 'pairing'; deviceId: string; code: string }
  /** What the box sees of a vault on chain changed, or one of its spends moved on. */
  | { topic: 'hardware'; type: 'vault'; vaultId: string }
