// Settings that cannot work together, found before anything starts. Each rule is a plain function
// returning a UserError (what happened, in the owner's words, and what to do) or nothing.
// `settingsProblems` needs only the settings (renderStack refuses them too); `checkSettings` adds
// what depends on this machine: disk space, a writable data directory, memory.
import { isAbsolute } from 'node:path'
import type { UserError } from '../../shared/errors'
import type { Settings } from '../../shared/settings'
import { estimateDisk, formatGB } from './disk-estimates'
import { networkParams } from './networks'

export interface SettingsEnv {
  /** Free bytes where the data directory is (probeDataDir). */
  readonly freeBytes: number
  readonly writable: boolean
  readonly memoryBytes: number
}

type Rule = (s: Settings) => UserError | undefined
type EnvRule = (s: Settings, env: SettingsEnv) => UserError | undefined

const networkName: Record<Settings['network'], string> = {
  mainnet: 'Bitcoin (mainnet)',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
}

const dataDirAbsolute: Rule = (s) =>
  isAbsolute(s.dataDir)
    ? undefined
    : {
        code: 'settings.data_dir_not_absolute',
        message: `The data folder “${s.dataDir}” is not a full path, so Flash Box cannot tell where it is.`,
        hint: 'Choose the folder with the folder picker, or type a full path such as /home/shop/flashbox.',
      }

// electrs indexes every block; a pruned node has thrown old blocks away.
const electrsWithPrune: Rule = (s) =>
  s.services.electrs && s.prune.enabled
    ? {
        code: 'settings.electrs_with_prune',
        message:
          'The Electrum server needs every block of the blockchain, but pruning deletes old blocks.',
        hint: 'Turn pruning off (needs more disk space), or turn the Electrum server off.',
      }
    : undefined

// bitcoind refuses -txindex together with -prune (`bitcoind -help`: "incompatible with -txindex").
const txindexWithPrune: Rule = (s) =>
  s.txindex && s.prune.enabled
    ? {
        code: 'settings.txindex_with_prune',
        message:
          'The transaction index needs every block of the blockchain, but pruning deletes old blocks.',
        hint: 'Turn pruning off (needs more disk space), or turn the transaction index off.',
      }
    : undefined

// NBXplorer scans from where the node was when it first started, unless told a height; on a pruned
// node the blocks before that height are gone, so it must be told where the owner's wallet begins.
const btcpayPrunedWithoutStartHeight: Rule = (s) =>
  s.services.btcpay && s.prune.enabled && s.nbxplorerStartHeight === undefined
    ? {
        code: 'settings.btcpay_pruned_without_start_height',
        message:
          'BTCPay on a pruned node needs to know from which block to look for your payments, and none is set.',
        hint: 'Enter the block height at which your store’s wallet was created (or today’s height for a new wallet) under “Scan from block”, or turn pruning off.',
      }
    : undefined

const btcpayNetworkSupported: Rule = (s) =>
  s.services.btcpay && networkParams[s.network].nbxplorer === null
    ? {
        code: 'settings.btcpay_network_unsupported',
        message: `BTCPay Server does not support ${networkName[s.network]} yet.`,
        hint: 'Use signet to try BTCPay without real money, or turn BTCPay off for this network.',
      }
    : undefined

// The mint pays and receives over Lightning. Without LND only the fake Lightning backend exists,
// which is for regtest (play money) only.
const mintNeedsLightning: Rule = (s) =>
  s.services.mint && !s.services.lnd && s.network !== 'regtest'
    ? {
        code: 'settings.mint_needs_lnd',
        message:
          'The eCash mint needs your Lightning node to receive and pay, but Lightning is off.',
        hint: 'Turn Lightning (LND) on, or turn the eCash mint off.',
      }
    : undefined

const rules: readonly Rule[] = [
  dataDirAbsolute,
  electrsWithPrune,
  txindexWithPrune,
  btcpayPrunedWithoutStartHeight,
  btcpayNetworkSupported,
  mintNeedsLightning,
]

const dataDirWritable: EnvRule = (s, env) =>
  env.writable
    ? undefined
    : {
        code: 'settings.data_dir_not_writable',
        message: `Flash Box cannot write to the data folder ${s.dataDir}.`,
        hint: 'Choose a folder you own (for example in your home folder), or check that the disk is connected and not read-only.',
      }

const enoughDisk: EnvRule = (s, env) => {
  if (!env.writable) return undefined // the folder problem comes first; its free space is moot
  const needed = estimateDisk(s).totalBytes
  if (env.freeBytes >= needed) return undefined
  const hints: string[] = []
  if (!s.prune.enabled && s.network !== 'regtest') {
    hints.push('turn pruning on (keeps only recent blocks; the Electrum server must then be off)')
  }
  hints.push('choose a data folder on a bigger disk', 'or free up space on this one')
  return {
    code: 'settings.disk_too_small',
    message: `These settings need about ${formatGB(needed)} of disk space, but only ${formatGB(env.freeBytes)} is free where the data folder is (${s.dataDir}).`,
    hint: `To fix it, ${hints.join(', ')}.`,
  }
}

const GiB = 1024 * 1024 * 1024

/** Rough working-set minimum of the enabled services. */
export function minimumMemoryBytes(s: Settings): number {
  let need = 1 * GiB // bitcoind with a small cache, plus the app
  if (s.services.lnd) need += 0.5 * GiB
  if (s.services.electrs) need += 0.5 * GiB
  if (s.services.btcpay) need += 1.5 * GiB // BTCPay + NBXplorer (.NET) + PostgreSQL
  return need
}

const enoughMemory: EnvRule = (s, env) => {
  const need = minimumMemoryBytes(s)
  if (env.memoryBytes >= need) return undefined
  return {
    code: 'settings.memory_too_small',
    message: `The services you chose need about ${(need / GiB).toFixed(1)} GB of memory, but this computer has ${(env.memoryBytes / GiB).toFixed(1)} GB.`,
    hint: 'Turn off the services you do not need (BTCPay needs the most), or use a computer with more memory.',
  }
}

const dbcacheFits: EnvRule = (s, env) => {
  if (s.dbcache === 'auto') return undefined
  const half = env.memoryBytes / 2 / (1024 * 1024)
  if (s.dbcache <= half) return undefined
  return {
    code: 'settings.dbcache_too_big',
    message: `The Bitcoin database cache is set to ${s.dbcache} MB, more than half of this computer’s memory.`,
    hint: 'Set the database cache to “Automatic”, or to at most half of the memory.',
  }
}

const envRules: readonly EnvRule[] = [dataDirWritable, enoughDisk, enoughMemory, dbcacheFits]

/** Problems found in the settings alone. */
export function settingsProblems(settings: Settings): UserError[] {
  return rules.map((r) => r(settings)).filter((p): p is UserError => p !== undefined)
}

/** Every problem with these settings on this machine; empty when they can work. */
export function checkSettings(settings: Settings, env: SettingsEnv): UserError[] {
  return [
    ...settingsProblems(settings),
    ...envRules.map((r) => r(settings, env)).filter((p): p is UserError => p !== undefined),
  ]
}
