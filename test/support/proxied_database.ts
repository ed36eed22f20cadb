// A fresh PostgreSQL schema reached through a TCP proxy the test owns (test/support/tcp_proxy.ts), so
// the test can cut or stall "the database" under a running server. The schema is migrated and later
// dropped over a direct connection; the server's pool goes through the proxy with short timeouts.
import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { type Database, openDatabase } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { postgresUrl, type TestDatabase } from './database.ts';
import { startTcpProxy, type TcpProxy } from './tcp_proxy.ts';

export interface ProxiedDatabase extends TestDatabase {
  proxy: TcpProxy;
  /** A direct (unproxied) connection to the same schema, for the test's own checks. */
  direct: Database;
  schema: string;
  /** The proxied URL (with the schema as search_path), for child processes. */
  url: string;
}

export interface ProxiedOptions {
  poolMax?: number;
  acquireTimeoutMs?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export async function createProxiedDatabase(options: ProxiedOptions = {}): Promise<ProxiedDatabase> {
  const url = postgresUrl();
  if (!url) throw new Error('DATABASE_URL is not set');
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const searchPath = `-c search_path=${schema}`;
  const direct = knex({ client: 'pg', connection: { connectionString: url, options: searchPath }, pool: { min: 0, max: 4 } });
  await direct.raw('create schema ??', [schema]);
  await migrateToLatest(direct);
  const proxied = new URL(url);
  proxied.port = String(proxy.port);
  proxied.searchParams.set('options', searchPath);
  const db = openDatabase({
    url: proxied.href,
    poolMax: options.poolMax ?? 6,
    dataDir: '',
    acquireTimeoutMs: options.acquireTimeoutMs ?? 1500,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
    statementTimeoutMs: options.statementTimeoutMs ?? 1500,
  }, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
  return {
    kind: 'postgres',
    db,
    direct,
    proxy,
    schema,
    url: proxied.href,
    async close() {
      proxy.restore();
      await db.destroy();
      await proxy.close();
      await direct.raw('drop schema ?? cascade', [schema]);
      await direct.destroy();
    },
  };
}
