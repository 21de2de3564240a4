// Every image the stack runs, pinned by digest. A tag is for people; the digest is what runs.
//
// Registry images: digests as published and pinned by getumbrel/umbrel-apps (commit
// 6372367174937ebc78556be6bc397979a29b7748, 2026-08-21), whose app manifests pin `image@sha256:…`:
//   bitcoin-regtest-dashboard/docker-compose.yml  ghcr.io/getumbrel/docker-bitcoind:v31.0
//     (Bitcoin Core 31.0 release binaries, signature- and checksum-verified in
//     getumbrel/docker-bitcoind's Dockerfile; bitcoind + bitcoin-cli in /bin, HOME=/data)
//   electrs/docker-compose.yml                    getumbrel/electrs:v0.11.1
//     (romanz/electrs v0.11.1 built by getumbrel/docker-electrs; ENTRYPOINT electrs, bash inside)
//   lightning/docker-compose.yml                  lightninglabs/lnd:v0.21.2-beta
//   btcpay-server/docker-compose.yml              nicolasdorier/nbxplorer:2.6.10,
//                                                 btcpayserver/btcpayserver:2.4.2,
//                                                 btcpayserver/postgres:13.13
//
// Images built here (relay, mint) have no registry digest: their identity is the image ID that
// `docker build` of docker/<name>/ produces on this machine. The catalog describes the build;
// the build step (or an offline bundle) records the ID, and `pinBuiltImage` turns the pair into
// the PinnedImage the supervisor checks. No digest is ever invented.
import { FlashError } from '../errors'
import type { PinnedImage, ServiceId } from './spec'

export type Sha256Digest = `sha256:${string}`

export interface RegistryImage {
  readonly kind: 'registry'
  readonly repository: string
  readonly tag: string
  readonly digest: Sha256Digest
  /** Where the digest was taken from (manifest path). */
  readonly source: string
}

export interface LocalBuild {
  readonly kind: 'local-build'
  readonly repository: string
  readonly tag: string
  /** Build context, relative to the project root. */
  readonly context: string
  /** Honest: there is no digest until the image has been built on this machine. */
  readonly digest: 'built-locally'
}

export type CatalogImage = RegistryImage | LocalBuild

const UMBREL = 'getumbrel/umbrel-apps@6372367174937ebc78556be6bc397979a29b7748'

export const catalogImages: Readonly<Record<ServiceId, CatalogImage>> = {
  bitcoind: {
    kind: 'registry',
    repository: 'ghcr.io/getumbrel/docker-bitcoind',
    tag: 'v31.0',
    digest: 'sha256:89185fc2792a9824cbe18f7ad4ead02a3a9a14adf5b34eb42f60ebec36201fa0',
    source: `${UMBREL}:bitcoin-regtest-dashboard/docker-compose.yml`,
  },
  electrs: {
    kind: 'registry',
    repository: 'getumbrel/electrs',
    tag: 'v0.11.1',
    digest: 'sha256:f1d5d4e431d39e0aaa0697014d2852880183e350ffcad612edb87183f0c11b25',
    source: `${UMBREL}:electrs/docker-compose.yml`,
  },
  lnd: {
    kind: 'registry',
    repository: 'lightninglabs/lnd',
    tag: 'v0.21.2-beta',
    digest: 'sha256:17e7e5adf823717a8e1ba7e02ac5d90eb58a029b5d30073914f64ab23e7cebf4',
    source: `${UMBREL}:lightning/docker-compose.yml`,
  },
  postgres: {
    kind: 'registry',
    repository: 'btcpayserver/postgres',
    tag: '13.13',
    digest: 'sha256:20d090860c929d4e86dc1068ad542cbae3e7ab3bcbc5c0c8a8b57ec91a5cbe3c',
    source: `${UMBREL}:btcpay-server/docker-compose.yml`,
  },
  nbxplorer: {
    kind: 'registry',
    repository: 'nicolasdorier/nbxplorer',
    tag: '2.6.10',
    digest: 'sha256:7d2ab1f6ce38e301cba98a4f85bfbfcf2912d5034bd88af056f9d60e5511f911',
    source: `${UMBREL}:btcpay-server/docker-compose.yml`,
  },
  btcpay: {
    kind: 'registry',
    repository: 'btcpayserver/btcpayserver',
    tag: '2.4.2',
    digest: 'sha256:66a7e88964d44302a0312bf601c9ef0e4c3af71696e2e4edac6daa2742854e79',
    source: `${UMBREL}:btcpay-server/docker-compose.yml`,
  },
  // Front door and Tor. Digests as pinned in public manifests (no registry is reachable here to
  // check them again; the supervisor refuses a pulled image whose digest differs):
  //   docker.io/library/caddy:2.11.4 — the official image, pinned in a public Dockerfile
  //     (`FROM docker.io/library/caddy:2.11.4@sha256:597f…d0b9`)
  //   getumbrel/tor:0.4.7.8 — Umbrel's Tor image, pinned by getumbrel/umbrel's compose files
  caddy: {
    kind: 'registry',
    repository: 'docker.io/library/caddy',
    tag: '2.11.4',
    digest: 'sha256:597f813aa60873d4c8148c816fbc4507d496ab160d620460279557f58ee3d0b9',
    source: 'public Dockerfile: FROM docker.io/library/caddy:2.11.4@sha256:…',
  },
  tor: {
    kind: 'registry',
    repository: 'getumbrel/tor',
    tag: '0.4.7.8',
    digest: 'sha256:2ace83f22501f58857fa9b403009f595137fa2e7986c4fda79d82a8119072b6a',
    source: 'getumbrel/umbrel docker-compose.yml (tor_server)',
  },
  relay: {
    kind: 'local-build',
    repository: 'flashbox/relay',
    tag: '0.1.0',
    context: 'docker/relay',
    digest: 'built-locally',
  },
  mint: {
    kind: 'local-build',
    repository: 'flashbox/mint',
    tag: '0.1.0',
    context: 'docker/mint',
    digest: 'built-locally',
  },
}

/**
 * The glibc base of the relay and mint images where this computer cannot supply Linux's C library
 * for the Docker engine (Docker Desktop's Linux VM on macOS and Windows, or another architecture):
 * Debian 12 slim, pinned by the digest of its multi-architecture index, so Docker picks the
 * engine's platform. Digest as pinned (by Renovate) in thepwagner-org/debian-bullseye's
 * Dockerfile; no registry is reachable here to check it again, and Docker refuses a download whose
 * digest differs.
 */
export const glibcBaseImage: RegistryImage = {
  kind: 'registry',
  repository: 'docker.io/library/debian',
  tag: 'bookworm-slim',
  digest: 'sha256:b55e2651b71408015f8068dd74e1d04404a8fa607dd2cfe284b4824c11f4d9bd',
  source: 'thepwagner-org/debian-bullseye:Dockerfile (FROM debian:bookworm-slim@sha256:…)',
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/

/** The PinnedImage of a registry image. */
export function pinnedRegistryImage(image: RegistryImage): PinnedImage {
  return { repository: image.repository, tag: image.tag, digest: image.digest }
}

/** Pins a locally built image to the image ID its build produced. */
export function pinBuiltImage(build: LocalBuild, imageId: string): PinnedImage {
  if (!IMAGE_ID.test(imageId)) {
    throw new FlashError(
      'stack.image_id_invalid',
      `The recorded build of ${build.repository} is damaged (its image ID is not a sha256 digest).`,
      'Build the image again (or load the offline bundle again), then start again.',
    )
  }
  return {
    repository: build.repository,
    tag: build.tag,
    digest: imageId as Sha256Digest,
    builtHere: true,
  }
}

/** `repository:tag`, for people. */
export function imageDisplayName(image: CatalogImage | PinnedImage): string {
  return `${image.repository}:${image.tag}`
}
