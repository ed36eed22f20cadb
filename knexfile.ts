// For the knex CLI and tools; the application itself migrates through src/db/migrate.ts.
import type { Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { loadConfig } from './src/config.ts';
import { migrationConfig, seedConfig } from './src/db/migrate.ts';

const { database } = loadConfig();

const config: Knex.Config = database.url
  ? { client: 'pg', connection: database.url, migrations: migrationConfig, seeds: seedConfig }
  : {
      client: ClientPgLite,
      connection: { filename: `${database.dataDir}/pglite` } as Knex.StaticConnectionConfig,
      migrations: migrationConfig,
      seeds: seedConfig,
    };

export default config;
