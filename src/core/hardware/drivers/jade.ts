// Blockstream Jade: CBOR RPC over its USB serial port (Jade's docs/index.rst).
// - Messages {id, method, params} → {id, result} | {id, error: {code, message}}, CBOR (cborg),
//   read from a byte stream until one whole message has arrived.
// - Unlocking: `auth_user` answers an `http_request` for Blockstream's blind PIN server; the box
//   POSTs its opaque `data` as JSON to the URL (only to URLs the owner allowed) and hands the reply
//   to the method named in `on-reply` (`pin`), which answers true (unlocked) or false (wrong PIN).
//   The PIN itself is typed on the Jade and never crosses the box.
// - Vaults: `register_multisig` (sorted wsh(multi(k)), approved on the Jade), addresses with
//   `get_receive_address` by name and paths, `sign_psbt` (long replies fetched with
//   `get_extended_data`). Only this device's verified signatures are taken from its PSBT.
//
// Transport: a pluggable byte stream. On Linux the serial port (/dev/ttyACM* or /dev/ttyUSB*) is
// set raw at 115200 baud with `stty` and read/written as a file: the `serialport` package was not
// added because it builds or downloads a native addon. Other systems: not wired yet.
import { execFile } from 'node:child_process'
import { open } from 'node:fs/promises'
import { promisify } from 'node:util'
import { decodeFirst, encode } from 'cborg'
import { HDKey } from '@scure/bip32'
import { hexToBytes } from '@noble/hashes/utils.js'
import { FlashError } from '../../errors'
import type { Cosigner, SignResult, VaultNetwork } from '../../../shared/api/hardware'
import {
  bitcoinNetwork,
  keyFingerprint,
  parsePath,
  vaultAddress,
  xpubVersions,
  type Vault,
} from '../multisig/vault'
import { checkPsbtBelongsToVault } from '../multisig/vault-psbt'
import { bip48Path } from '../seed-signer'
import type { Signer } from '../signer'
import { checkHoldsVaultKey, checkShownAddress, versionAtLeast } from './device-checks'
import { takeDeviceSignatures } from './returned-psbt'

export interface JadeStream {
  write(bytes: Uint8Array): Promise<void>
  /** The next bytes that arrived (any length). */
  read(): Promise<Uint8Array>
  close(): Promise<void>
}

/** Linux: the Jade's serial port, raw at 115200 baud (set with stty), as a byte stream. */
export async function openJadeSerial(path: string): Promise<JadeStream> {
  if (!/^\/dev\/tty(ACM|USB)\d+$/.test(path))
    throw new FlashError(
      'jade.bad_port',
      `${path} is not a USB serial port.`,
      'Choose the Jade from the list in Devices.',
    )
  try {
    await promisify(execFile)('stty', ['-F', path, '115200', 'raw', '-echo'])
    const fh = await open(path, 'r+')
    return {
      write: async (b) => {
        await fh.write(b)
      },
      read: async () => {
        const buf = new Uint8Array(4096)
        const { bytesRead } = await fh.read(buf, 0, buf.length, null)
        if (bytesRead === 0) throw new Error('ENODEV: Jade gone')
        return buf.subarray(0, bytesRead)
      },
      close: () => fh.close(),
    }
  } catch (err) {
    throw jadeLinkError(err)
  }
}

const DEVICES_HINT = 'then try again from Devices.'
/** The oldest firmware this driver was written against; older ones are refused, not guessed. */
export const JADE_MIN_FIRMWARE = '1.0.0'
/** Blockstream's PIN server, as the Jade names it. */
export const BLOCKSTREAM_PIN_SERVER = 'https://jadepin.blockstream.com/get_pin'

function jadeLinkError(err: unknown): FlashError {
  const text = err instanceof Error ? err.message : String(err)
  if (/EACCES|EPERM/.test(text))
    return new FlashError(
      'jade.permission',
      'Flash Box is not allowed to open the Jade’s serial port.',
      'Install the device rules with the command shown in Devices (or add your user to the dialout group), then plug the Jade in again.',
      { cause: err },
    )
  if (/EBUSY/.test(text))
    return new FlashError(
      'jade.busy',
      'Another program is using the Jade (usually Blockstream Green or another wallet).',
      `Close the other program, ${DEVICES_HINT}`,
      { cause: err },
    )
  if (/ENODEV|ENOENT|EIO/.test(text))
    return new FlashError(
      'jade.unplugged',
      'The Jade is no longer connected. Nothing was signed or changed.',
      `Plug it in again, ${DEVICES_HINT}`,
      { cause: err },
    )
  return new FlashError(
    'jade.usb',
    'Flash Box could not talk to the Jade.',
    `Unplug the Jade and plug it in again, ${DEVICES_HINT}`,
    { cause: err },
  )
}

function rpcError(code: number, message: string): FlashError {
  switch (code) {
    case -32000:
      return new FlashError(
        'jade.rejected',
        'The request was declined on the Jade. Nothing was signed or changed.',
        `If that was not meant, start again and confirm on the Jade, ${DEVICES_HINT}`,
      )
    case -32002:
      return new FlashError(
        'jade.locked',
        'The Jade is locked.',
        `Unlock it from Devices: you type the PIN on the Jade, ${DEVICES_HINT}`,
      )
    case -32003:
      return new FlashError(
        'jade.wrong_network',
        'The Jade’s wallet is set up for another network (mainnet versus test networks).',
        `Use a Jade set up for the box’s network, ${DEVICES_HINT}`,
      )
    default:
      return new FlashError(
        'jade.refused',
        `The Jade refused: ${message.slice(0, 120)}.`,
        `Check the Jade’s screen and that it holds one of this vault’s keys, ${DEVICES_HINT}`,
      )
  }
}

/** Sends the PIN server request the Jade asked for; returns the server's JSON reply. */
export type PinServerRelay = (url: string, body: unknown) => Promise<unknown>

/** The box's relay: POST JSON, 20 s, 64 KiB at most, only to `allowed` URLs. */
export function httpPinRelay(allowed: readonly string[]): PinServerRelay {
  return async (url, body) => {
    if (!allowed.includes(url))
      throw new FlashError(
        'jade.pinserver_not_allowed',
        `The Jade asked to reach a PIN server Flash Box does not know (${url.slice(0, 80)}).`,
        'Flash Box relays only to Blockstream’s PIN server. If you set this Jade up with another one, set it back to Blockstream’s with Blockstream Green, or sign with another device.',
      )
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      })
    } catch (err) {
      throw new FlashError(
        'jade.pinserver_unreachable',
        'The Jade’s PIN server could not be reached, so the Jade cannot be unlocked.',
        'Check the box’s internet connection (the PIN server is on the internet), then try again from Devices.',
        { cause: err },
      )
    }
    const text = await res.text()
    if (!res.ok || text.length > 65_536)
      throw new FlashError(
        'jade.pinserver_refused',
        `The Jade’s PIN server answered with an error (HTTP ${res.status}).`,
        `Wait a minute, ${DEVICES_HINT}`,
      )
    return JSON.parse(text) as unknown
  }
}

/** CBOR RPC over the stream, one request at a time. */
export class JadeRpc {
  private buffer: Uint8Array = new Uint8Array()
  private next = 1

  constructor(private readonly stream: JadeStream) {}

  private async message(): Promise<Record<string, unknown>> {
    for (let reads = 0; reads < 100_000; reads++) {
      if (this.buffer.length > 0) {
        try {
          const [msg, rest] = decodeFirst(this.buffer) as [unknown, Uint8Array]
          this.buffer = rest
          if (msg && typeof msg === 'object') return msg as Record<string, unknown>
        } catch (err) {
          // cborg cannot tell a cut-off message from a malformed one: wait for more bytes, up
          // to a size no Jade reply reaches.
          if (this.buffer.length > 4 * 1024 * 1024) throw err
        }
      }
      const chunk = await this.stream.read()
      const merged = new Uint8Array(this.buffer.length + chunk.length)
      merged.set(this.buffer)
      merged.set(chunk, this.buffer.length)
      this.buffer = merged
    }
    throw new Error('no whole message from the Jade')
  }

  /** The whole reply to one request (its `result`, or its error as a FlashError). */
  async call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = String(this.next++)
    let reply: Record<string, unknown>
    try {
      await this.stream.write(encode(params ? { id, method, params } : { id, method }))
      do reply = await this.message()
      while (reply.id !== id)
    } catch (err) {
      if (err instanceof FlashError) throw err
      throw jadeLinkError(err)
    }
    const error = reply.error as { code?: number; message?: string } | undefined
    if (error) throw rpcError(error.code ?? 0, error.message ?? '')
    return reply
  }

  async result<T>(method: string, params?: Record<string, unknown>): Promise<T> {
    return (await this.call(method, params)).result as T
  }
}

function jadeNetwork(network: VaultNetwork): string {
  return network === 'mainnet' ? 'mainnet' : network === 'regtest' ? 'localtest' : 'testnet'
}

/** A vault's name as the Jade keeps it: under 16 characters. */
export function jadeMultisigName(vault: Vault): string {
  return vault.name.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 15) || 'flashbox'
}

export class JadeSigner implements Signer {
  readonly kind = 'Jade'

  private constructor(
    private readonly rpc: JadeRpc,
    private readonly network: VaultNetwork,
    private readonly fp: string,
    readonly firmware: string,
  ) {}

  /**
   * Version and state check, then unlock: the owner types the PIN on the Jade while the box
   * relays the PIN server exchange. A wrong PIN is said plainly (the Jade wipes itself after
   * three in a row).
   */
  static async connect(
    stream: JadeStream,
    network: VaultNetwork,
    relay: PinServerRelay,
  ): Promise<JadeSigner> {
    const rpc = new JadeRpc(stream)
    const info = await rpc.result<{
      JADE_VERSION: string
      JADE_STATE: string
      JADE_NETWORKS: string
    }>('get_version_info')
    if (!versionAtLeast(info.JADE_VERSION, JADE_MIN_FIRMWARE))
      throw new FlashError(
        'jade.firmware_too_old',
        `The Jade runs firmware ${info.JADE_VERSION}; Flash Box works with ${JADE_MIN_FIRMWARE} or newer.`,
        `Update the Jade with Blockstream Green, close Green, ${DEVICES_HINT}`,
      )
    if (info.JADE_STATE === 'UNINIT' || info.JADE_STATE === 'UNSAVED')
      throw new FlashError(
        'jade.not_set_up',
        'This Jade has no wallet yet (or it was wiped after three wrong PINs).',
        'Set it up, or restore it from its recovery words, with Blockstream Green; then try again from Devices.',
      )
    const wantMain = network === 'mainnet'
    if (info.JADE_NETWORKS !== 'ALL' && (info.JADE_NETWORKS === 'MAIN') !== wantMain)
      throw rpcError(-32003, '')
    let answer = await rpc.result<unknown>('auth_user', {
      network: jadeNetwork(network),
      epoch: Math.floor(Date.now() / 1000),
    })
    // A handshake may take several PIN server round trips; a Jade needs one or two.
    for (let round = 0; answer !== true && round < 5; round++) {
      const req = (answer as { http_request?: unknown } | null)?.http_request as
        { params?: { urls?: unknown; data?: unknown }; 'on-reply'?: unknown } | undefined
      if (answer === false)
        throw new FlashError(
          'jade.wrong_pin',
          'The PIN typed on the Jade was wrong. After three wrong PINs in a row the Jade erases its wallet.',
          'Try again from Devices; if you are not sure of the PIN, stop and restore the Jade from its recovery words instead.',
        )
      const urls = Array.isArray(req?.params?.urls) ? (req.params.urls as unknown[]) : []
      const onReply = req?.['on-reply']
      if (!req || urls.length === 0 || typeof onReply !== 'string' || onReply !== 'pin')
        throw new FlashError(
          'jade.usb',
          'The Jade asked for something Flash Box does not understand while unlocking.',
          `Unplug the Jade and plug it in again, ${DEVICES_HINT}`,
        )
      const url = urls.find((u): u is string => typeof u === 'string' && /^https?:\/\//.test(u))
      if (!url)
        throw new FlashError(
          'jade.pinserver_not_allowed',
          'The Jade’s PIN server is only reachable over Tor, which Flash Box does not relay to yet.',
          'Set the Jade to Blockstream’s PIN server (or one reachable over https) with Blockstream Green.',
        )
      const reply = await relay(url, req.params!.data)
      answer = await rpc.result<unknown>(onReply, reply as Record<string, unknown>)
    }
    if (answer !== true) throw rpcError(-32002, '')
    const rootXpub = await rpc.result<string>('get_xpub', {
      network: jadeNetwork(network),
      path: [],
    })
    const root = HDKey.fromExtendedKey(rootXpub, xpubVersions(network))
    return new JadeSigner(rpc, network, keyFingerprint(root.publicKey!), info.JADE_VERSION)
  }

  async fingerprint(): Promise<string> {
    return this.fp
  }

  async cosigner(
    network: VaultNetwork,
    name: string,
    path = bip48Path(network),
  ): Promise<Cosigner> {
    const xpub = await this.rpc.result<string>('get_xpub', {
      network: jadeNetwork(network),
      path: parsePath(path),
    })
    return { kind: 'xpub', name, fingerprint: this.fp, path, xpub }
  }

  private ownKeyIn(vault: Vault): void {
    checkHoldsVaultKey(vault, this.fp, 'Jade')
  }

  /** Whether the Jade holds this vault under its name, with the same threshold and keys. */
  async isRegistered(vault: Vault): Promise<boolean> {
    let r: {
      descriptor?: {
        threshold?: number
        sorted?: boolean
        signers?: { fingerprint: Uint8Array; xpub: string }[]
      }
    }
    try {
      r = await this.rpc.result('get_registered_multisig', {
        multisig_name: jadeMultisigName(vault),
        as_file: false,
      })
    } catch (err) {
      if (err instanceof FlashError && err.code === 'jade.refused') return false
      throw err
    }
    const d = r?.descriptor
    return (
      d?.sorted === true &&
      d.threshold === vault.threshold &&
      d.signers?.length === vault.cosigners.length &&
      vault.cosigners.every(
        (c, i) =>
          c.kind === 'xpub' &&
          d.signers![i]!.xpub === c.xpub &&
          Buffer.from(d.signers![i]!.fingerprint).toString('hex') === c.fingerprint,
      )
    )
  }

  /** Registers the vault (sorted wsh multisig) on the Jade; the owner confirms it there. */
  async registerVault(vault: Vault): Promise<string> {
    this.ownKeyIn(vault)
    const signers = vault.cosigners.map((c) => {
      if (c.kind !== 'xpub')
        throw new FlashError(
          'jade.vault_unsupported',
          'A Jade can register only vaults whose every key is an extended public key (xpub); this vault has a fixed HSM key.',
          'Make the vault from the Jade, backup words or another device.',
        )
      return {
        fingerprint: hexToBytes(c.fingerprint),
        derivation: parsePath(c.path),
        xpub: c.xpub,
        path: [],
      }
    })
    const name = jadeMultisigName(vault)
    await this.rpc.result('register_multisig', {
      network: jadeNetwork(vault.network),
      multisig_name: name,
      descriptor: { variant: 'wsh(multi(k))', sorted: true, threshold: vault.threshold, signers },
    })
    return name
  }

  async displayAddress(vault: Vault, chain: 0 | 1, index: number): Promise<string> {
    const at = vaultAddress(vault, chain, index)
    const shown = await this.rpc.result<string>('get_receive_address', {
      network: jadeNetwork(vault.network),
      multisig_name: jadeMultisigName(vault),
      paths: vault.cosigners.map(() => [chain, index]),
    })
    return checkShownAddress(shown, {
      expected: at,
      deviceNetwork: bitcoinNetwork(vault.network),
      device: 'Jade',
      code: 'jade.address_mismatch',
      hint: 'Check that the vault registered on the Jade is this one (register it again from Devices).',
    })
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    checkPsbtBelongsToVault(vault, psbtBase64)
    this.ownKeyIn(vault)
    const first = await this.rpc.call('sign_psbt', {
      network: jadeNetwork(vault.network),
      psbt: Uint8Array.from(Buffer.from(psbtBase64, 'base64')),
    })
    const parts = [first.result as Uint8Array]
    const seqlen = Number(first.seqlen ?? 1)
    if (!Number.isInteger(seqlen) || seqlen < 1 || seqlen > 4096) throw rpcError(0, 'bad seqlen')
    const origid = first.id as string
    for (let seq = 2; seq <= seqlen; seq++) {
      const more = await this.rpc.call('get_extended_data', {
        origid,
        orig: 'sign_psbt',
        seqnum: seq,
        seqlen,
      })
      parts.push(more.result as Uint8Array)
    }
    if (parts.some((p) => !(p instanceof Uint8Array))) throw rpcError(0, 'no PSBT in the reply')
    const returned = Buffer.concat(parts).toString('base64')
    return takeDeviceSignatures(vault, psbtBase64, returned, this.fp, 'Jade')
  }
}
