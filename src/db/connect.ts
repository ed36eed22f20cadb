// Opens the database: PostgreSQL through `pg` when a URL is configured, otherwise the embedded
// PGlite under DATA_DIR. Everything above this module sees one Knex instance either way.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knex, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';

export type Database = Knex;

export interface DatabaseTarget {
  /** postgres:// URL; when absent the embedded database is used. */
  url: string | undefined;
  poolMax: number;
  /** Embedded database directory, or 'memory://' for a throwaway one. */
  dataDir: string;
}

export function isEmbedded(target: DatabaseTarget): boolean {
  return target.url === undefined;
}

export function openDatabase(target: DatabaseTarget): Database {
  if (target.url !== undefined) {
    return knex({
      client: 'pg',
      connection: { connectionString: target.url, application_name: 'portcullis' },
      pool: { min: 0, max: target.poolMax },
      acquireConnectionTimeout: 10_000,
    });
  }
  const filename = target.dataDir === 'memory://' ? 'memory://' : embeddedDirectory(target.dataDir);
  return knex({ client: ClientPgLite, connection: { filename } as Knex.StaticConnectionConfig });
}

function embeddedDirectory(dataDir: string): string {
  const directory = join(dataDir, 'pglite');
  mkdirSync(directory, { recursive: true });
  return directory;
}
