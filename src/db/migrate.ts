// Runs the schema migrations and seeds from inside the process (no knex CLI loader probing).
import { fileURLToPath } from 'node:url';
import type { Database } from './connect.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

export const migrationConfig = {
  directory: `${root}migrations`,
  loadExtensions: ['.ts'],
  tableName: 'knex_migrations',
};

export const seedConfig = {
  directory: `${root}seeds`,
  loadExtensions: ['.ts'],
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
