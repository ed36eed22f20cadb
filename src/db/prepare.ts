// Brings a database up to date on start: migrations always; on the embedded database, the demo
// seed when no account exists yet, so a newcomer can sign in at once.
import type { Config } from '../config.ts';
import type { Database } from './connect.ts';
import { migrateToLatest, runSeeds } from './migrate.ts';

export interface PreparedDatabase {
  migrations: string[];
  seeded: boolean;
}

export async function prepareDatabase(db: Database, config: Config): Promise<PreparedDatabase> {
  const migrations = await migrateToLatest(db);
  let seeded = false;
  if (config.database.url === undefined && config.env !== 'production') {
    const [{ count }] = (await db('accounts').count({ count: '*' })) as [{ count: string | number }];
    if (Number(count) === 0) {
      await runSeeds(db);
      seeded = true;
    }
  }
  return { migrations, seeded };
}
