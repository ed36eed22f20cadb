// What every CLI command needs: configuration, a migrated database, a quiet logger. Opened once per
// run and closed at the end, so commands stay one-liners over the shared services.
import { type Config, loadConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createLogger, type Logger } from '../logger.ts';

export interface CliContext {
  config: Config;
  db: Database;
  logger: Logger;
}

let opened: CliContext | undefined;

export async function cliContext(options: { migrate?: boolean } = {}): Promise<CliContext> {
  if (!opened) {
    const config = loadConfig();
    const db = openDatabase(config.database);
    opened = { config, db, logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel) };
    if (options.migrate !== false) await migrateToLatest(db);
  }
  return opened;
}

export async function closeCliContext(): Promise<void> {
  await opened?.db.destroy();
  opened = undefined;
}

/** A readable failure: printed as one line, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}
