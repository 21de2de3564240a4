// PostgreSQL for BTCPay and NBXplorer. Every role has a generated password (no default, no
// "trust"): the superuser's comes in POSTGRES_PASSWORD, and a first-start SQL script gives BTCPay
// and NBXplorer their own roles, each owning only its own database.
import { join } from 'node:path'
import { serviceDir, type RenderContext } from './context'
import { probe } from './health'
import { servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export function btcpayDatabase(ctx: RenderContext): string {
  return `btcpayserver${ctx.settings.network}`
}

export function nbxplorerDatabase(ctx: RenderContext): string {
  return `nbxplorer${ctx.settings.network}`
}

/** Npgsql connection string (https://www.npgsql.org/doc/connection-string-parameters.html). */
export function npgsql(
  user: string,
  password: string,
  database: string,
  applicationName: string,
): string {
  return [
    `User ID=${user}`,
    `Password=${password}`,
    `Host=postgres`,
    `Port=${servicePorts.postgres}`,
    `Database=${database}`,
    `Application Name=${applicationName}`,
    'MaxPoolSize=20',
  ].join(';')
}

/** Runs once, when the official entrypoint initialises an empty data directory. */
export function renderInitSql(ctx: RenderContext): string {
  const pg = ctx.secrets.postgres
  const hex = /^[0-9a-f]+$/
  if (!hex.test(pg.btcpayPassword) || !hex.test(pg.nbxplorerPassword)) {
    throw new Error('database passwords must be hex') // they are quoted below
  }
  return [
    '-- Written by Flash Box. Runs once, on the first start of an empty database directory.',
    `CREATE ROLE btcpay LOGIN PASSWORD '${pg.btcpayPassword}';`,
    `CREATE ROLE nbxplorer LOGIN PASSWORD '${pg.nbxplorerPassword}';`,
    `CREATE DATABASE ${btcpayDatabase(ctx)} OWNER btcpay;`,
    `CREATE DATABASE ${nbxplorerDatabase(ctx)} OWNER nbxplorer;`,
    '',
  ].join('\n')
}

export function postgresSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'postgres')
  return {
    id: 'postgres',
    displayName: 'Database (PostgreSQL)',
    description: 'Stores BTCPay’s shops, invoices and the wallet index. Needed by BTCPay.',
    image: ctx.image('postgres'),
    // btcpayserver/postgres = postgres:13 + a migrating entrypoint (btcpayserver/dockerfile-deps
    // Postgres/13.13) that looks for PG_VERSION in the default PGDATA: keep the default so a
    // later major upgrade through that entrypoint finds the cluster.
    // btcpayserver-docker's tuning for SSDs; pg_stat_statements as BTCPay's deployment loads it.
    command: ['-c', 'random_page_cost=1.0', '-c', 'shared_preload_libraries=pg_stat_statements'],
    env: {
      POSTGRES_USER: 'postgres',
      POSTGRES_PASSWORD: ctx.secrets.postgres.superuserPassword,
    },
    secretEnv: ['POSTGRES_PASSWORD'],
    ports: [],
    mounts: [
      { kind: 'bind', source: join(dir, 'data'), target: '/var/lib/postgresql/data' },
      {
        kind: 'bind',
        source: join(dir, 'initdb'),
        target: '/docker-entrypoint-initdb.d',
        readOnly: true,
      },
    ],
    files: [
      {
        hostPath: join(dir, 'initdb', 'flashbox-roles.sql'),
        contents: renderInitSql(ctx),
        mode: 0o600,
        secret: true,
      },
    ],
    health: probe(
      [
        'CMD',
        'pg_isready',
        '-h',
        '127.0.0.1',
        '-p',
        String(servicePorts.postgres),
        '-U',
        'postgres',
      ],
      // -h 127.0.0.1: during first-start initialisation the server listens on its socket only.
      { intervalMs: 5_000, startPeriodMs: 2 * 60_000 },
    ),
    dependsOn: [],
    stopGraceSeconds: 60, // a fast shutdown checkpoints; give it time on slow disks
    confinement: serviceConfinement.postgres,
    user: ctx.user,
    hostname: 'postgres',
  }
}
