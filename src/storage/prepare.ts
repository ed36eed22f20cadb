// Brings a database up to date on start: migrations always; on the embedded database, the demo
// seed when no account exists yet, so a newcomer can sign in at once. Records the issuer served, for
// the CLI (operator clients must be told the server's token endpoint, not one the CLI guesses).
import type { Config } from '../config.ts';
import { recordServerIssuer } from './server_settings_store.ts';
import type { Database } from '../db/connect.ts';
import { migrateToLatest, runSeeds } from '../db/migrate.ts';

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
  await recordServerIssuer(db, config.issuer);
  return { migrations, seeded };
}
