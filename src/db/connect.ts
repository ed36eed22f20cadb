// Opens the database: PostgreSQL through `pg` when a URL is configured, otherwise the embedded
// PGlite under DATA_DIR. Everything above this module sees one Knex instance either way.
import { mkdirSync } from 'node:fs';
import knex, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import type { Client as PgClient } from 'pg';
import { DATABASE_TIMEOUT_DEFAULTS } from '../config.ts';
import type { Logger } from '../logger.ts';
import { openPrivateEmbeddedDatabase } from './embedded_permissions.ts';
import { lockEmbeddedDirectory } from './embedded_lock.ts';

export type Database = Knex;

export interface DatabaseTarget {
  /** postgres:// URL; when absent the embedded database is used. */
  url: string | undefined;
  poolMax: number;
  /** Embedded database directory, or 'memory://' for a throwaway one. */
  dataDir: string;
  /** PostgreSQL, milliseconds: waiting for a free pooled connection (default: config.ts). */
  acquireTimeoutMs?: number;
  /** PostgreSQL, milliseconds: opening a connection (default: config.ts). */
  connectTimeoutMs?: number;
  /** PostgreSQL, milliseconds: one statement, enforced by the server and, for a stalled network, by the client (default: config.ts). */
  statementTimeoutMs?: number;
}

/** How long the client waits past the server's statement timeout before it gives up on a silent server. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;

/** Knex's own warnings (a failed connection attempt, with its stack) as one structured log line. */
function knexLog(logger: Logger): Knex.Config['log'] {
  const firstLine = (message: unknown) => String(message).split('\n')[0];
  return {
    warn: (message: unknown) => logger.warn({ component: 'knex' }, firstLine(message)),
    error: (message: unknown) => logger.error({ component: 'knex' }, firstLine(message)),
    deprecate: (method: unknown, alternative: unknown) => logger.warn({ component: 'knex' }, `${method} is deprecated, use ${alternative}`),
    debug: () => {},
  };
}

/** The timeouts the target sets (an unset or undefined one keeps its default). */
function definedOnly(target: DatabaseTarget): Partial<Record<keyof typeof DATABASE_TIMEOUT_DEFAULTS, number>> {
  const { acquireTimeoutMs, connectTimeoutMs, statementTimeoutMs } = target;
  return Object.fromEntries(Object.entries({ acquireTimeoutMs, connectTimeoutMs, statementTimeoutMs }).filter(([, value]) => value !== undefined));
}

export function openDatabase(target: DatabaseTarget, logger?: Logger): Database {
  const log = logger ? { log: knexLog(logger) } : {};
  if (target.url !== undefined) {
    // A stalled or unreachable database must fail requests quickly (503), never hang them: every wait
    // has a bound, and a connection that saw a network error is dropped from the pool (knex marks it).
    const { acquireTimeoutMs, connectTimeoutMs, statementTimeoutMs } = { ...DATABASE_TIMEOUT_DEFAULTS, ...definedOnly(target) };
    const statementTimeout = statementTimeoutMs;
    return knex({
      client: 'pg',
      connection: {
        connectionString: target.url,
        application_name: 'portcullis',
        statement_timeout: statementTimeout,
        query_timeout: statementTimeout + CLIENT_TIMEOUT_MARGIN_MS,
        connectionTimeoutMillis: connectTimeoutMs,
        keepAlive: true,
      } as Knex.PgConnectionConfig,
      pool: { min: 0, max: target.poolMax },
      acquireConnectionTimeout: acquireTimeoutMs,
      ...log,
    });
  }
  if (target.dataDir === 'memory://') return knex({ client: ClientPgLite, connection: { filename: 'memory://' } as Knex.StaticConnectionConfig, ...log });
  // Taken before anything opens the files, given back when the database is closed.
  mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
  const lock = lockEmbeddedDirectory(target.dataDir);
  const connection = { pglite: openPrivateEmbeddedDatabase(target.dataDir, logger) };
  const db = knex({ client: ClientPgLite, connection: connection as Knex.StaticConnectionConfig, ...log });
  // knex's own destroy is read-only; its client's closes the connection (PGlite) and is replaceable.
  const client = db.client as { destroy(callback?: unknown): Promise<void> };
  const destroy = client.destroy.bind(client);
  client.destroy = async (callback?: unknown) => {
    try {
      await destroy(callback);
    } finally {
      lock.release();
    }
  };
  return db;
}

/**
 * A PostgreSQL connection outside the pool, for a session-long LISTEN. It has an 'error' listener of
 * its own for its whole life, whatever listeners the caller adds and removes: a pg client that emits
 * 'error' with none attached kills the process, and a server shutdown or pg_terminate_backend makes it
 * emit two (the FATAL message, then "Connection terminated unexpectedly" at the close).
 */
export async function openSessionConnection(db: Database): Promise<PgClient> {
  const connection = (await db.client.acquireRawConnection()) as PgClient;
  connection.on('error', () => {});
  return connection;
}

/** Ends a connection from openSessionConnection; never throws (it may already be gone). */
export async function closeSessionConnection(db: Database, connection: PgClient): Promise<void> {
  await db.client.destroyRawConnection(connection).catch(() => undefined);
}
