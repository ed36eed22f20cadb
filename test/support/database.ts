// A fresh, migrated database for one test suite: a new schema on PostgreSQL when DATABASE_URL is
// set (so the suite never sees another's rows), else a throwaway in-memory embedded database.
import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { type Database, openDatabase } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export type DatabaseKind = 'postgres' | 'pglite';

export interface TestDatabase {
  kind: DatabaseKind;
  db: Database;
  close(): Promise<void>;
}

export function postgresUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url && url.trim() !== '' ? url : undefined;
}

/** The kinds this run can test: always the embedded database, PostgreSQL when configured. */
export function availableKinds(): DatabaseKind[] {
  return postgresUrl() ? ['pglite', 'postgres'] : ['pglite'];
}

/** What `npm test` runs the end-to-end suites on: PostgreSQL when configured, else embedded. */
export function defaultKind(): DatabaseKind {
  return postgresUrl() ? 'postgres' : 'pglite';
}

export async function createTestDatabase(kind: DatabaseKind = defaultKind(), options: { poolMax?: number } = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const db = openDatabase({ url: undefined, poolMax: 1, dataDir: 'memory://' });
    await migrateToLatest(db);
    return { kind, db, close: () => db.destroy() };
  }
  const url = postgresUrl();
  if (!url) throw new Error('DATABASE_URL is not set');
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  await admin.raw('create schema ??', [schema]);
  const db = knex({
    client: 'pg',
    connection: { connectionString: url, options: `-c search_path=${schema}` },
    pool: { min: 0, max: options.poolMax ?? 10 },
  });
  await migrateToLatest(db);
  return {
    kind,
    db,
    async close() {
      await db.destroy();
      await admin.raw('drop schema ?? cascade', [schema]);
      await admin.destroy();
    },
  };
}
