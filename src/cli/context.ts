// What every CLI command needs: configuration, a migrated database, a quiet logger. Opened once per
// run and closed at the end, so commands stay one-liners over the shared services.
import { type Config, loadConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createRevocationService, type RevocationService } from '../revocation/revocation_service.ts';

export interface CliContext {
  config: Config;
  db: Database;
  logger: Logger;
  revocation: RevocationService;
}

let opened: CliContext | undefined;

export async function cliContext(options: { migrate?: boolean } = {}): Promise<CliContext> {
  if (!opened) {
    const config = loadConfig();
    const db = openDatabase(config.database);
    // The CLI's own output is the record; log lines (revocation audits) stay quiet unless asked for.
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    opened = { config, db, logger, revocation: createRevocationService(db, logger) };
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
