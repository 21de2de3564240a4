// What a vault is written out as, for other wallets and for the devices that must register it:
// - Bitcoin Core descriptors (BIP380/383, BIP389 multipath), which every export starts from;
// - a BIP388 wallet policy (Ledger's registration, also read by BitBox02 and others);
// - a BIP129 (BSMS 1.0) descriptor record;
// - Coldcard's multisig setup file.
// The last three name every cosigner by an extended key, so a vault with a fixed (HSM) key cannot
// be written in them; the view says so instead of writing something a device would misread.
import type { VaultView } from '../../../shared/api/hardware'
import { checkVault, parsePath, HARDENED, vaultAddress, vaultDescriptor, type Vault } from './vault'

function apostrophePath(path: string): string {
  return parsePath(path)
    .map((i) => (i >= HARDENED ? `/${i - HARDENED}'` : `/${i}`))
    .join('')
}

export function vaultView(vault: Vault): VaultView {
  checkVault(vault)
  const firstAddresses = [0, 1, 2].map((i) => vaultAddress(vault, 0, i).address)
  const xpubs = vault.cosigners.flatMap((c) => (c.kind === 'xpub' ? [c] : []))
  const allExtended = xpubs.length === vault.cosigners.length
  const view: VaultView = {
    name: vault.name,
    threshold: vault.threshold,
    cosigners: vault.cosigners,
    network: vault.network,
    descriptor: vaultDescriptor(vault, 'multipath'),
    receiveDescriptor: vaultDescriptor(vault, 0),
    changeDescriptor: vaultDescriptor(vault, 1),
    firstAddresses,
    exportLimits: allExtended
      ? []
      : [
          'A BIP388 wallet policy, a BIP129 (BSMS) record and a Coldcard setup file need an extended public key (xpub) for every cosigner; the HSM key has none, so they are not written. Bitcoin Core reads the descriptor as it is; Sparrow and Specter expect an xpub per cosigner and cannot import it.',
          'So devices that refuse to sign for an unregistered multisig (Ledger, Coldcard by default) cannot cosign this vault; use the HSM with backup words or an air-gapped signer that signs from the PSBT alone.',
        ],
  }
  if (!allExtended) return view
  const keys = xpubs.map((c) => `[${c.fingerprint}${apostrophePath(c.path)}]${c.xpub}`)
  const template = `wsh(sortedmulti(${vault.threshold},${keys.map((_, i) => `@${i}/**`).join(',')}))`
  const coldcard = [
    `# Flash Box vault “${vault.name}”: ${vault.threshold} of ${vault.cosigners.length}, P2WSH`,
    `Name: ${vault.name.replace(/[^A-Za-z0-9 _-]/g, '').slice(0, 20) || 'vault'}`,
    `Policy: ${vault.threshold} of ${vault.cosigners.length}`,
    'Format: P2WSH',
    '',
    ...xpubs.flatMap((c) => [
      `Derivation: m${apostrophePath(c.path)}`,
      `${c.fingerprint.toUpperCase()}: ${c.xpub}`,
      '',
    ]),
  ].join('\n')
  return {
    ...view,
    walletPolicy: { template, keys },
    bsms: [
      'BSMS 1.0',
      `wsh(sortedmulti(${vault.threshold},${keys.map((k) => `${k}/**`).join(',')}))`,
      '/0/*,/1/*',
      firstAddresses[0]!,
    ].join('\n'),
    coldcardFile: coldcard,
  }
}
