// The contract between the stack catalog (pure: settings → specs) and the container supervisor
// (dockerode: specs → running containers). Like Polar's composeFile/nodeTemplates, the catalog
// is pure functions; unlike Polar, the supervisor talks to the Docker Engine API directly.

/** Service ids of the production stack. Test catalogs may use the same ids with local images. */
export type ServiceId =
  | 'bitcoind'
  | 'electrs'
  | 'lnd'
  | 'relay'
  | 'mint'
  | 'postgres'
  | 'nbxplorer'
  | 'btcpay'
  | 'caddy'
  | 'tor'

export type BitcoinNetwork = 'mainnet' | 'testnet4' | 'signet' | 'regtest'

/** An image pinned by digest: `repository@sha256:…`. Tags alone are never trusted. */
export interface PinnedImage {
  /** e.g. `lightninglabs/lnd` */
  readonly repository: string
  /** Human tag, for display only, e.g. `v0.19.1-beta`. */
  readonly tag: string
  /** `sha256:<64 hex>` — the supervisor refuses an image whose digest differs. */
  readonly digest: `sha256:${string}`
  /** Built from this repo (relay, mint) rather than pulled. */
  readonly builtHere?: boolean
}

export interface PortSpec {
  readonly container: number
  /** Published on the host when set; bound to `hostIp` (default 127.0.0.1). */
  readonly host?: number
  readonly hostIp?: string
  readonly protocol: 'tcp' | 'udp'
  /** Plain words: "Bitcoin P2P", "LND gRPC". */
  readonly purpose: string
}

/** A TCP port a host-network service binds itself. */
export interface HostListen {
  readonly port: number
  /** '' for every address. */
  readonly address: string
  /** Plain words: "the shop’s devices (LAN mode)". */
  readonly purpose: string
}

export type MountSpec =
  | {
      readonly kind: 'bind'
      readonly source: string
      readonly target: string
      readonly readOnly?: boolean
    }
  | {
      readonly kind: 'volume'
      readonly name: string
      readonly target: string
      readonly readOnly?: boolean
    }

/** A config file rendered by the catalog and written (atomically) before the container starts. */
export interface RenderedFile {
  /** Absolute host path under the data directory. */
  readonly hostPath: string
  readonly contents: string
  /** 0o600 for anything holding a secret. */
  readonly mode: number
  /** True when `contents` holds a secret: masked in the UI's "rendered configuration". */
  readonly secret: boolean
}

/** Docker HEALTHCHECK; health changes arrive on Docker's event stream (no polling). */
export interface HealthProbe {
  readonly test: readonly string[] // e.g. ['CMD', 'bitcoin-cli', '-rpcconnect=…', 'getblockchaininfo'] or ['CMD-SHELL', '…']
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly retries: number
  readonly startPeriodMs: number
}

export interface Dependency {
  readonly id: string
  /** `healthy`: wait for the dependency's health probe; `started`: only that it runs. */
  readonly condition: 'healthy' | 'started'
}

/**
 * How tightly a container is confined: every capability dropped except `capAdd`,
 * no-new-privileges, memory and process limits sized for the service, and a read-only root
 * filesystem where the image allows it (scratch space as tmpfs).
 */
export interface ContainerConfinement {
  /** Linux capabilities kept after dropping ALL (names as in capabilities(7), without CAP_). */
  readonly capAdd: readonly string[]
  /** Hard memory limit (swap included): the kernel's OOM killer stops the container above it. */
  readonly memoryBytes: number
  readonly pidsLimit: number
  readonly readOnlyRootfs: boolean
  /** Writable scratch directories (tmpfs) when the root filesystem is read-only. */
  readonly tmpfs: readonly string[]
}

/**
 * Keys the engine hands a container at every start, each derived from the box key for one purpose
 * (HKDF, src/core/secrets/box-key.ts), so a service can open what is sealed under the box key
 * without the key ever lying on disk in clear: `dir` is a tmpfs (RAM only, 0700, owned by the
 * container's user); right after the container starts the supervisor writes each file there through
 * `docker exec` with the key on stdin (so it is in no command line, environment or `docker
 * inspect`), and the service reads and removes it. While the box is locked the service is not
 * started ("Waiting for unlock"). With no owner password yet each file is delivered empty.
 */
export interface UnlockKeys {
  /** Absolute path inside the container, mounted as tmpfs. */
  readonly dir: string
  readonly files: readonly { readonly name: string; readonly purpose: string }[]
  /** The image's interpreter to run the small writer with (e.g. ['/usr/local/bin/node']). */
  readonly node: string
}

export interface ContainerSpec {
  readonly id: string
  readonly displayName: string
  /** One sentence in plain words, for the setup wizard. */
  readonly description: string
  readonly image: PinnedImage
  readonly entrypoint?: readonly string[]
  readonly command: readonly string[]
  readonly env: Readonly<Record<string, string>>
  /** Names of env vars whose values are secrets (masked in the UI, never logged). */
  readonly secretEnv?: readonly string[]
  readonly ports: readonly PortSpec[]
  readonly mounts: readonly MountSpec[]
  readonly files: readonly RenderedFile[]
  readonly health: HealthProbe
  readonly dependsOn: readonly Dependency[]
  /** Seconds between SIGTERM and SIGKILL. bitcoind and LND need minutes to flush. */
  readonly stopGraceSeconds: number
  readonly user?: string
  /** Set for every production service (src/core/stack/confinement.ts); test stand-ins may omit it. */
  readonly confinement?: ContainerConfinement
  /** Hostname on the private network, e.g. `bitcoind`. */
  readonly hostname: string
  /**
   * 'host': the container shares the host's network (no private network, no port mapping) — the
   * front door and Tor, which reach the services the engine runs on 127.0.0.1 and bind the LAN
   * interface the owner picked. Default: the stack's private network.
   */
  readonly networkMode?: 'stack' | 'host'
  /**
   * On the host network: the addresses the service binds itself (Docker publishes nothing), so
   * the supervisor can tell the owner which port another program holds before it starts.
   */
  readonly hostListens?: readonly HostListen[]
  /** Keys derived from the box key, delivered at each start (see UnlockKeys). */
  readonly unlockKeys?: UnlockKeys
  /**
   * A name (in the container's /etc/hosts) for this computer's address on the stack network —
   * the network's gateway, which Docker picks when it makes the network, so the supervisor looks
   * it up when it creates the container. The mint calls the box's settlement hook there.
   */
  readonly gatewayHostname?: string
}

export interface StackPlan {
  /** Project name: prefix for containers, network and volumes; also a label value. */
  readonly project: string
  readonly network: BitcoinNetwork
  readonly dataDir: string
  /** Name of the private bridge network. */
  readonly dockerNetwork: string
  /** In dependency order. */
  readonly services: readonly ContainerSpec[]
}

/** bitcoind RPC users: one per consumer, each with its own `rpcauth=` line. */
export type BitcoindRpcConsumer = 'lnd' | 'electrs' | 'nbxplorer' | 'dashboard'

export interface RpcCredential {
  readonly user: string
  readonly password: string
  /** rpcauth salt (32 hex), kept so the rendered bitcoin.conf is the same on every run. */
  readonly salt: string
}

/**
 * Secrets the stack is rendered with; generated once per box by src/core/secrets
 * (`loadOrCreateStackSecrets`) and never regenerated. No service has a default password.
 */
export interface StackSecrets {
  readonly bitcoindRpc: Readonly<Record<BitcoindRpcConsumer, RpcCredential>>
  /** LND's wallet unlock password (wallet-unlock-password-file). */
  readonly lndWalletPassword: string
  /** LND's TLS key and certificate, made by the box so the thumbprint is known up front. */
  readonly lndTls: {
    readonly certPem: string
    readonly keyPem: string
    readonly sha256Thumbprint: string
  }
  readonly postgres: {
    readonly superuserPassword: string
    readonly btcpayPassword: string
    readonly nbxplorerPassword: string
  }
}
