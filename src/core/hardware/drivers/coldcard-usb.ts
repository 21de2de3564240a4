// Coldcard over USB, in its own protocol (Coinkite's ckcc-protocol, read to learn it):
// - HID reports of 64 bytes; the first byte is the payload length (≤ 63), 0x80 on a message's last
//   report, 0x40 when the message is encrypted. A zero-length last report resynchronises.
// - Every message starts with a 4-letter command or response code; integers are little-endian.
// - The link is encrypted from the start: `ncry` sends a fresh secp256k1 public key, the Coldcard
//   answers its own, and both take SHA-256 of the ECDH point (x‖y) as an AES-256-CTR key, one
//   counter stream per direction. `mitm` then has the Coldcard sign that session key with its
//   master key, which the box checks against the master xpub: a program in the middle of the USB
//   link would have a different session key and could not make that signature.
// - Multisig: the vault's Coldcard setup file is uploaded and enrolled (`enrl`, approved on the
//   device), `msck` confirms it; addresses are shown with `p2sh`; PSBTs are uploaded, signed after
//   the owner approves (`stxn`, polled with `stok`) and downloaded.
// The signatures the Coldcard returns are checked and copied into the box's own PSBT; nothing
// else from the device's file is taken.
//
// Transport: Linux hidraw (/dev/hidrawN) read and written directly, no native module (node-hid
// is not used). Other systems: not wired yet; the device is still found and named.
import { createCipheriv, type Cipheriv } from 'node:crypto'
import { open } from 'node:fs/promises'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { HDKey } from '@scure/bip32'
import { networks } from 'bitcoinjs-lib'
import { FlashError } from '../../errors'
import type { Cosigner, SignResult, VaultNetwork } from '../../../shared/api/hardware'
import { compareBytes, parsePath, vaultAddress, xpubVersions, type Vault } from '../multisig/vault'
import { vaultView } from '../multisig/vault-exports'
import { checkPsbtBelongsToVault } from '../multisig/vault-psbt'
import { bip48Path } from '../seed-signer'
import type { Signer } from '../signer'
import { checkHoldsVaultKey, checkShownAddress, versionAtLeast } from './device-checks'
import { takeDeviceSignatures } from './returned-psbt'

/** 64-byte HID reports, without the report-ID byte. */
export interface HidLink {
  write(report: Uint8Array): Promise<void>
  read(): Promise<Uint8Array>
  close(): Promise<void>
}

/** Linux hidraw: reports are written with a leading report ID 0 and read as 64 bytes. */
export async function openHidraw(path: string): Promise<HidLink> {
  let fh
  try {
    fh = await open(path, 'r+')
  } catch (err) {
    throw coldcardLinkError(err)
  }
  return {
    write: async (report) => {
      await fh.write(concatBytes(Uint8Array.of(0), report))
    },
    read: async () => {
      const buf = new Uint8Array(64)
      const { bytesRead } = await fh.read(buf, 0, 64, null)
      if (bytesRead === 0) throw new Error('ENODEV: Coldcard gone')
      return buf
    },
    close: () => fh.close(),
  }
}

/** The oldest firmware this driver was written against; older ones are refused, not guessed. */
export const COLDCARD_MIN_FIRMWARE = '5.0.0'
const DEVICES_HINT = 'then try again from Devices.'
const MAX_BLOCK = 2048
const POLL_MS = 250

function coldcardLinkError(err: unknown): FlashError {
  const text = err instanceof Error ? err.message : String(err)
  if (/EACCES|EPERM/.test(text))
    return new FlashError(
      'coldcard.permission',
      'Flash Box is not allowed to open the Coldcard.',
      'Install the device rules with the command shown in Devices, then unplug the Coldcard and plug it in again.',
      { cause: err },
    )
  if (/ENODEV|ENOENT|EIO/.test(text))
    return new FlashError(
      'coldcard.unplugged',
      'The Coldcard is no longer connected. Nothing was signed or changed.',
      `Plug it in again and unlock it, ${DEVICES_HINT}`,
      { cause: err },
    )
  return new FlashError(
    'coldcard.usb',
    'Flash Box could not talk to the Coldcard over USB.',
    `Unplug the Coldcard and plug it in again, ${DEVICES_HINT}`,
    { cause: err },
  )
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n >>> 0, true)
  return b
}

type Response =
  | { kind: 'okay' }
  | { kind: 'int1'; value: number }
  | { kind: 'biny'; data: Uint8Array }
  | { kind: 'asci'; text: string }
  | { kind: 'mypb'; devicePubkey: Uint8Array; fingerprint: string; xpub: string }
  | { kind: 'strx'; length: number; sha: Uint8Array }

/** Talks ckcc-protocol over a HID link; encrypts once `startEncryption` has run. */
export class ColdcardLink {
  private encrypt?: Cipheriv
  private decrypt?: Cipheriv
  private sessionKey?: Uint8Array
  master?: { fingerprint: string; xpub: string }

  constructor(private readonly hid: HidLink) {}

  async resync(): Promise<void> {
    const r = new Uint8Array(64).fill(0xff)
    r[0] = 0x80
    try {
      await this.hid.write(r)
    } catch (err) {
      throw coldcardLinkError(err)
    }
  }

  async request(msg: Uint8Array): Promise<Response> {
    const encrypted = this.encrypt !== undefined
    const body = encrypted ? Uint8Array.from(this.encrypt!.update(msg)) : msg
    try {
      for (let at = 0; at < body.length; at += 63) {
        const here = body.subarray(at, at + 63)
        const r = new Uint8Array(64)
        r[0] = here.length | (at + 63 >= body.length ? 0x80 : 0) | (encrypted ? 0x40 : 0)
        r.set(here, 1)
        await this.hid.write(r)
      }
      const parts: Uint8Array[] = []
      let flag = 0
      do {
        const r = await this.hid.read()
        flag = r[0]!
        parts.push(r.slice(1, 1 + (flag & 0x3f)))
      } while (!(flag & 0x80))
      let resp = concatBytes(...parts)
      if (flag & 0x40) {
        if (!this.decrypt) throw new Error('encrypted answer before encryption was set up')
        resp = Uint8Array.from(this.decrypt.update(resp))
      }
      return this.decode(resp)
    } catch (err) {
      if (err instanceof FlashError) throw err
      throw coldcardLinkError(err)
    }
  }

  private decode(resp: Uint8Array): Response {
    const code = new TextDecoder().decode(resp.subarray(0, 4))
    const rest = resp.subarray(4)
    const dv = new DataView(rest.buffer, rest.byteOffset, rest.byteLength)
    switch (code) {
      case 'okay':
        return { kind: 'okay' }
      case 'int1':
        return { kind: 'int1', value: dv.getUint32(0, true) }
      case 'biny':
        return { kind: 'biny', data: rest.slice() }
      case 'asci':
        return { kind: 'asci', text: new TextDecoder().decode(rest) }
      case 'strx':
        return { kind: 'strx', length: dv.getUint32(0, true), sha: rest.slice(4, 36) }
      case 'mypb': {
        const xpubLen = dv.getUint32(68, true)
        return {
          kind: 'mypb',
          devicePubkey: rest.slice(0, 64),
          fingerprint: bytesToHex(rest.subarray(64, 68)),
          xpub: new TextDecoder().decode(rest.subarray(rest.length - xpubLen)),
        }
      }
      case 'refu':
        throw new FlashError(
          'coldcard.rejected',
          'The request was refused on the Coldcard. Nothing was signed or changed.',
          `If that was not meant, start again and approve on the Coldcard, ${DEVICES_HINT}`,
        )
      case 'busy':
        throw new FlashError(
          'coldcard.busy',
          'The Coldcard is busy with another request (often another wallet program such as Sparrow or Electrum talking to it).',
          `Close the other wallet program and finish what the Coldcard shows, ${DEVICES_HINT}`,
        )
      case 'fram':
        throw new FlashError(
          'coldcard.busy',
          'The Coldcard lost track of the conversation; usually two programs are talking to it at once (Sparrow, Electrum or another wallet).',
          `Close the other wallet program, unplug the Coldcard and plug it in again, ${DEVICES_HINT}`,
        )
      case 'err_':
        throw new FlashError(
          'coldcard.refused',
          `The Coldcard refused: ${new TextDecoder().decode(rest).slice(0, 120)}.`,
          `Check the Coldcard’s screen and that it holds one of this vault’s keys, ${DEVICES_HINT}`,
        )
      default:
        throw new FlashError(
          'coldcard.usb',
          'The Coldcard answered something Flash Box does not understand.',
          `Unplug the Coldcard and plug it in again, ${DEVICES_HINT}`,
        )
    }
  }

  /** `ncry` (v1) then `mitm`: the encrypted link, checked against the master key. */
  async startEncryption(): Promise<void> {
    const mine = secp256k1.utils.randomSecretKey()
    const pub = secp256k1.getPublicKey(mine, false).subarray(1)
    const r = await this.request(concatBytes(utf8ToBytes('ncry'), u32(1), pub))
    if (r.kind !== 'mypb') throw this.unexpected()
    const shared = secp256k1.getSharedSecret(
      mine,
      concatBytes(Uint8Array.of(4), r.devicePubkey),
      false,
    )
    this.sessionKey = sha256(shared.subarray(1))
    const iv = new Uint8Array(16)
    this.encrypt = createCipheriv('aes-256-ctr', this.sessionKey, iv)
    this.decrypt = createCipheriv('aes-256-ctr', this.sessionKey, iv)
    this.master = { fingerprint: r.fingerprint, xpub: r.xpub }
    const sig = await this.request(utf8ToBytes('mitm'))
    if (sig.kind !== 'biny' || sig.data.length !== 65) throw this.unexpected()
    let ok: boolean
    try {
      const versions = r.xpub.startsWith('xpub') ? xpubVersions('mainnet') : xpubVersions('testnet')
      const masterKey = HDKey.fromExtendedKey(r.xpub, versions).publicKey!
      ok = secp256k1.verify(sig.data.subarray(1), this.sessionKey, masterKey, { prehash: false })
    } catch {
      ok = false
    }
    if (!ok)
      throw new FlashError(
        'coldcard.mitm',
        'The Coldcard’s link check failed: something between the box and the Coldcard may be reading or changing what is sent. Nothing was done.',
        'Unplug the Coldcard, check the cable and any USB hub, plug it straight in and try again from Devices.',
      )
  }

  unexpected(): FlashError {
    return new FlashError(
      'coldcard.usb',
      'The Coldcard answered something Flash Box did not expect.',
      `Unplug the Coldcard and plug it in again, ${DEVICES_HINT}`,
    )
  }

  async text(msg: Uint8Array): Promise<string> {
    const r = await this.request(msg)
    if (r.kind !== 'asci') throw this.unexpected()
    return r.text
  }

  async upload(data: Uint8Array): Promise<Uint8Array> {
    for (let at = 0; at < data.length; at += MAX_BLOCK) {
      const r = await this.request(
        concatBytes(
          utf8ToBytes('upld'),
          u32(at),
          u32(data.length),
          data.subarray(at, at + MAX_BLOCK),
        ),
      )
      if (r.kind !== 'int1' || r.value !== at) throw this.unexpected()
    }
    const sha = sha256(data)
    const check = await this.request(utf8ToBytes('sha2'))
    if (check.kind !== 'biny' || compareBytes(check.data, sha) !== 0)
      throw new FlashError(
        'coldcard.usb',
        'The file did not arrive whole on the Coldcard.',
        `Unplug the Coldcard and plug it in again, ${DEVICES_HINT}`,
      )
    return sha
  }

  async download(length: number, sha: Uint8Array, file: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    for (let at = 0; at < length;) {
      const r = await this.request(
        concatBytes(utf8ToBytes('dwld'), u32(at), u32(Math.min(MAX_BLOCK, length - at)), u32(file)),
      )
      if (r.kind !== 'biny' || r.data.length === 0) throw this.unexpected()
      parts.push(r.data)
      at += r.data.length
    }
    const data = concatBytes(...parts)
    if (compareBytes(sha256(data), sha) !== 0) throw this.unexpected()
    return data
  }
}

function chainFor(network: VaultNetwork): string[] {
  return network === 'mainnet' ? ['BTC'] : network === 'regtest' ? ['XRT', 'XTN'] : ['XTN']
}

export interface ColdcardOptions {
  /** Time to wait for the owner's approval on the device. */
  approvalTimeoutMs?: number
  pollMs?: number
}

export class ColdcardUsbSigner implements Signer {
  readonly kind = 'Coldcard (USB)'

  private constructor(
    private readonly link: ColdcardLink,
    private readonly network: VaultNetwork,
    private readonly fp: string,
    readonly firmware: string,
    private readonly opts: Required<ColdcardOptions>,
  ) {}

  /** Resync, encrypted link with its MitM check, then the firmware and chain checks. */
  static async connect(
    hid: HidLink,
    network: VaultNetwork,
    opts: ColdcardOptions = {},
  ): Promise<ColdcardUsbSigner> {
    const link = new ColdcardLink(hid)
    await link.resync()
    await link.startEncryption()
    const lines = (await link.text(utf8ToBytes('vers'))).split('\n')
    const firmware = lines[1] ?? '?'
    if (!versionAtLeast(firmware, COLDCARD_MIN_FIRMWARE))
      throw new FlashError(
        'coldcard.firmware_too_old',
        `The Coldcard runs firmware ${firmware}; Flash Box works with ${COLDCARD_MIN_FIRMWARE} or newer.`,
        `Upgrade the Coldcard’s firmware (coldcard.com, “Upgrade”), ${DEVICES_HINT}`,
      )
    const chain = await link.text(utf8ToBytes('blkc'))
    if (!chainFor(network).includes(chain))
      throw new FlashError(
        'coldcard.wrong_network',
        `The Coldcard is set for ${chain === 'BTC' ? 'mainnet' : 'a test network'} (${chain}), not ${network}.`,
        `Change it in the Coldcard’s Advanced → Danger Zone → Testnet Mode, ${DEVICES_HINT}`,
      )
    return new ColdcardUsbSigner(link, network, link.master!.fingerprint, firmware, {
      approvalTimeoutMs: opts.approvalTimeoutMs ?? 120_000,
      pollMs: opts.pollMs ?? POLL_MS,
    })
  }

  async fingerprint(): Promise<string> {
    return this.fp
  }

  async cosigner(
    network: VaultNetwork,
    name: string,
    path = bip48Path(network),
  ): Promise<Cosigner> {
    const xpub = await this.link.text(
      concatBytes(utf8ToBytes('xpub'), utf8ToBytes(path.replace(/h/g, "'"))),
    )
    try {
      HDKey.fromExtendedKey(xpub, xpubVersions(network))
    } catch (err) {
      throw new FlashError(
        'coldcard.wrong_network',
        'The Coldcard answered with a key for another network.',
        `Set the Coldcard to the box’s network, ${DEVICES_HINT}`,
        { cause: err },
      )
    }
    return { kind: 'xpub', name, fingerprint: this.fp, path, xpub }
  }

  private xfpXor(vault: Vault): number {
    return vault.cosigners.reduce(
      (x, c) =>
        (x ^
          new DataView(Uint8Array.from(Buffer.from(c.fingerprint, 'hex')).buffer).getUint32(
            0,
            true,
          )) >>>
        0,
      0,
    )
  }

  async isRegistered(vault: Vault): Promise<boolean> {
    const r = await this.link.request(
      concatBytes(
        utf8ToBytes('msck'),
        u32(vault.threshold),
        u32(vault.cosigners.length),
        u32(this.xfpXor(vault)),
      ),
    )
    if (r.kind !== 'int1') throw this.link.unexpected()
    return r.value > 0
  }

  /** Uploads the vault's Coldcard setup file and waits for the owner to approve it on the device. */
  async registerVault(vault: Vault): Promise<void> {
    this.ownKeyIn(vault)
    const file = vaultView(vault).coldcardFile
    if (!file)
      throw new FlashError(
        'coldcard.vault_unsupported',
        'A Coldcard can enroll only vaults whose every key is an extended public key (xpub); this vault has a fixed HSM key.',
        'Make the vault from the Coldcard, backup words or another device.',
      )
    const data = utf8ToBytes(file)
    const sha = await this.link.upload(data)
    const r = await this.link.request(concatBytes(utf8ToBytes('enrl'), u32(data.length), sha))
    if (r.kind !== 'okay') throw this.link.unexpected()
    const deadline = Date.now() + this.opts.approvalTimeoutMs
    while (!(await this.isRegistered(vault))) {
      if (Date.now() > deadline)
        throw new FlashError(
          'coldcard.not_enrolled',
          'The vault was not approved on the Coldcard (it was refused, or not confirmed in time).',
          'Start the registration again from Devices and approve the vault on the Coldcard’s screen.',
        )
      await new Promise((res) => setTimeout(res, this.opts.pollMs))
    }
  }

  private ownKeyIn(vault: Vault): void {
    checkHoldsVaultKey(vault, this.fp, 'Coldcard')
  }

  async displayAddress(vault: Vault, chain: 0 | 1, index: number): Promise<string> {
    const at = vaultAddress(vault, chain, index)
    // Key paths in the order of the keys in the (BIP67-sorted) script, each [xfp, ...path].
    const sorted = [...at.keys].sort((a, b) => compareBytes(a.publicKey, b.publicKey))
    const paths = sorted.map((k) => {
      const steps = k.path === 'm' ? [] : parsePath(k.path)
      const xfp = new DataView(Uint8Array.from(k.fingerprint).buffer).getUint32(0, true)
      return concatBytes(Uint8Array.of(steps.length + 1), u32(xfp), ...steps.map(u32))
    })
    const head = new Uint8Array(8)
    const dv = new DataView(head.buffer)
    dv.setUint32(0, 0x0e, true) // AF_P2WSH
    head[4] = vault.threshold
    head[5] = vault.cosigners.length
    dv.setUint16(6, at.witnessScript.length, true)
    const shown = await this.link.text(
      concatBytes(utf8ToBytes('p2sh'), head, at.witnessScript, ...paths),
    )
    const devNet =
      vault.network === 'mainnet'
        ? networks.bitcoin
        : shown.startsWith('bcrt')
          ? networks.regtest
          : networks.testnet
    return checkShownAddress(shown, {
      expected: at,
      deviceNetwork: devNet,
      device: 'Coldcard',
      code: 'coldcard.address_mismatch',
      hint: 'Check that the vault enrolled on the Coldcard is this one.',
    })
  }

  async signPsbt(psbtBase64: string, vault: Vault): Promise<SignResult> {
    checkPsbtBelongsToVault(vault, psbtBase64)
    this.ownKeyIn(vault)
    const data = Uint8Array.from(Buffer.from(psbtBase64, 'base64'))
    const sha = await this.link.upload(data)
    const start = await this.link.request(
      concatBytes(utf8ToBytes('stxn'), u32(data.length), u32(0), sha),
    )
    if (start.kind !== 'okay') throw this.link.unexpected()
    const deadline = Date.now() + this.opts.approvalTimeoutMs
    let done: Extract<Response, { kind: 'strx' }> | undefined
    for (;;) {
      const r = await this.link.request(utf8ToBytes('stok'))
      if (r.kind === 'strx') {
        done = r
        break
      }
      if (r.kind !== 'okay') throw this.link.unexpected()
      if (Date.now() > deadline)
        throw new FlashError(
          'coldcard.timeout',
          'The transaction was not approved on the Coldcard in time. Nothing was signed.',
          `Start again and approve it on the Coldcard’s screen, ${DEVICES_HINT}`,
        )
      await new Promise((res) => setTimeout(res, this.opts.pollMs))
    }
    const signed = await this.link.download(done.length, done.sha, 1)
    return takeDeviceSignatures(
      vault,
      psbtBase64,
      Buffer.from(signed).toString('base64'),
      this.fp,
      'Coldcard',
    )
  }
}
