// Runs the schema migrations and seeds from inside the process (no knex CLI loader probing), from the
// TypeScript sources (tests, development) or from their build in dist/ (production) alike.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import type { Database } from './connect.ts';

// src/db/ or dist/src/db/: migrations/ and seeds/ sit next to src/ in both.
const root = fileURLToPath(new URL('../../', import.meta.url));
const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const migrationsDirectory = join(root, 'migrations');

/**
 * A migration is recorded under its source name (`<stamp>_<name>.ts`) whether the source or its
 * compiled `.js` runs, so a database migrated by one is up to date for the other.
 */
const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return (await readdir(migrationsDirectory)).filter((file) => file.endsWith(extension)).sort();
  },
  getMigrationName: (file) => file.replace(/\.js$/, '.ts'),
  getMigration: (file) => import(pathToFileURL(join(migrationsDirectory, file)).href),
};

export const migrationConfig: Knex.MigratorConfig = {
  migrationSource,
  tableName: 'knex_migrations',
};

export const seedConfig: Knex.SeederConfig = {
  directory: join(root, 'seeds'),
  loadExtensions: [extension],
};

export async function migrateToLatest(db: Database): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}

export async function rollbackAll(db: Database): Promise<string[]> {
  const [, reverted] = (await db.migrate.rollback(migrationConfig, true)) as [number, string[]];
  return reverted;
}

/** Reverts the newest applied migration only. */
export async function rollbackOne(db: Database): Promise<string[]> {
  const [, reverted] = (await db.migrate.down(migrationConfig)) as [number, string[]];
  return reverted;
}

export async function runSeeds(db: Database): Promise<string[]> {
  const [ran] = (await db.seed.run(seedConfig)) as [string[]];
  return ran;
}
