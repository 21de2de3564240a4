// LND on the bitcoind backend. Options from lnd's sample-lnd.conf (v0.21.2-beta): the network
// flag is bitcoin.<mainnet|testnet4|signet|regtest>=true in [Bitcoin]; the box supplies
// tls.cert/tls.key (so the thumbprint is known up front) and the wallet password file.
import { join } from 'node:path'
import { renderLndIni, type ConfSection } from './conf-format'
import { renderedHeader, serviceDir, type RenderContext } from './context'
import { probe } from './health'
import { servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export const LND_DIR = '/data/.lnd'

export function renderLndConf(ctx: RenderContext): string {
  const { net, secrets } = ctx
  const rpc = secrets.bitcoindRpc.lnd
  const sections: ConfSection[] = [
    {
      name: 'Application Options',
      entries: [
        ['listen', `0.0.0.0:${servicePorts.lndP2p}`],
        ['rpclisten', `0.0.0.0:${servicePorts.lndGrpc}`],
        ['restlisten', `0.0.0.0:${servicePorts.lndRest}`],
        ['tlscertpath', `${LND_DIR}/tls.cert`],
        ['tlskeypath', `${LND_DIR}/tls.key`],
        // The certificate is the box's (secrets/lnd-tls.ts) with SANs lnd, localhost, 127.0.0.1.
        // LND must neither replace it nor add the container's changing IPs to a new one.
        ['tlsextradomain', 'lnd'],
        ['tlsextradomain', 'localhost'],
        ['tlsextraip', '127.0.0.1'],
        ['tlsautorefresh', false],
        ['tlsdisableautofill', true],
        ['wallet-unlock-password-file', `${LND_DIR}/wallet-password`],
        // Without a wallet LND would exit; with this it waits for the box to create the wallet
        // (InitWallet with the same generated password) on first start. The unauthenticated
        // window is the one every new LND has; its ports are only on 127.0.0.1 and the stack's
        // private network, and the box creates the wallet as soon as LND is up.
        ['wallet-unlock-allow-create', true],
        ['debuglevel', 'info'],
      ],
    },
    {
      name: 'Bitcoin',
      entries: [
        [`bitcoin.${net.lnd}`, true],
        ['bitcoin.node', 'bitcoind'],
      ],
    },
    {
      name: 'Bitcoind',
      entries: [
        ['bitcoind.rpchost', `bitcoind:${net.rpcPort}`],
        ['bitcoind.rpcuser', rpc.user],
        ['bitcoind.rpcpass', rpc.password],
        ['bitcoind.zmqpubrawblock', `tcp://bitcoind:${servicePorts.zmqRawBlock}`],
        ['bitcoind.zmqpubrawtx', `tcp://bitcoind:${servicePorts.zmqRawTx}`],
      ],
    },
  ]
  return renderLndIni(renderedHeader(';'), sections)
}

export function lndSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'lnd')
  const tls = ctx.secrets.lndTls
  return {
    id: 'lnd',
    displayName: 'Lightning (LND)',
    description: 'Your Lightning node: instant, cheap Bitcoin payments in and out of your shop.',
    image: ctx.image('lnd'),
    entrypoint: ['lnd'],
    command: [`--lnddir=${LND_DIR}`, `--configfile=${LND_DIR}/lnd.conf`],
    env: { HOME: '/data' },
    ports: [
      {
        container: servicePorts.lndP2p,
        host: servicePorts.lndP2p,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Lightning P2P',
      },
      {
        container: servicePorts.lndGrpc,
        host: servicePorts.lndGrpc,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'LND gRPC (for this app only)',
      },
      {
        container: servicePorts.lndRest,
        host: servicePorts.lndRest,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'LND REST (for this app only)',
      },
    ],
    mounts: [{ kind: 'bind', source: dir, target: LND_DIR }],
    files: [
      // lnd.conf holds bitcoind.rpcpass.
      { hostPath: join(dir, 'lnd.conf'), contents: renderLndConf(ctx), mode: 0o600, secret: true },
      { hostPath: join(dir, 'tls.cert'), contents: tls.certPem, mode: 0o644, secret: false },
      { hostPath: join(dir, 'tls.key'), contents: tls.keyPem, mode: 0o600, secret: true },
      {
        hostPath: join(dir, 'wallet-password'),
        contents: ctx.secrets.lndWalletPassword,
        mode: 0o600,
        secret: true,
      },
    ],
    // `lncli state` needs no macaroon. SERVER_ACTIVE: wallet unlocked and all RPCs up — what
    // BTCPay and the mint need. Before the wallet exists LND stays unhealthy (NON_EXISTING).
    health: probe(
      [
        'CMD-SHELL',
        `lncli --lnddir=${LND_DIR} --rpcserver=localhost:${servicePorts.lndGrpc} state | grep -q SERVER_ACTIVE`,
      ],
      { startPeriodMs: 10 * 60_000 },
    ),
    dependsOn: [{ id: 'bitcoind', condition: 'healthy' }],
    // LND closes its channel database cleanly on SIGTERM; killing it mid-write risks the
    // channel state that holds the user's money.
    stopGraceSeconds: 300,
    confinement: serviceConfinement.lnd,
    user: ctx.user,
    hostname: 'lnd',
  }
}
