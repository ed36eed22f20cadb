// What every CLI command needs: configuration, a migrated database, a quiet logger. Opened once per
// run and closed at the end, so commands stay one-liners over the shared services.
import { type Config, loadConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/connect.ts';
import { EmbeddedDatabaseInUseError } from '../db/embedded_lock.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { pino } from 'pino';
import { createLogger, type Logger } from '../logger.ts';
import { createRevocationService, type RevocationService } from '../revocation/revocation_service.ts';
import { type OperatorOperations, operatorOperations } from '../revocation/operator_operations.ts';
import { providerModels } from '../provider/build_provider.ts';
import { loadKeyring } from '../secrets/keyring_source.ts';
import { type ResourceOperations, resourceOperations } from '../admin/resource_operations.ts';

export interface CliContext {
  config: Config;
  db: Database;
  logger: Logger;
  revocation: RevocationService;
}

/** The context of the current run, and whether this module opened it (and so must close it). */
let opened: { context: CliContext; owned: boolean } | undefined;

export async function cliContext(options: { migrate?: boolean } = {}): Promise<CliContext> {
  if (!opened) {
    const config = loadConfig();
    // The CLI's own output is the record (stdout); log lines go to stderr, and revocation audit lines
    // (info) stay quiet unless asked for.
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
    const db = openEmbeddedOrExplain(config, logger);
    opened = { context: { config, db, logger, revocation: createRevocationService(db, logger) }, owned: true };
    if (options.migrate !== false) await migrateToLatest(db);
  }
  return opened.context;
}

/** The operator operations (checked targets, then the revocation service) over this run's context. */
export async function cliOperations(): Promise<OperatorOperations> {
  const { db, revocation } = await cliContext();
  return operatorOperations(db, revocation);
}

/**
 * The resource registry's operations over this run's context. A running server on PostgreSQL hears
 * each change (NOTIFY); the embedded database is the server's alone while it runs (use the admin API).
 */
export async function cliResourceOperations(): Promise<ResourceOperations> {
  const { db, config, revocation } = await cliContext();
  const clients = providerModels(db, loadKeyring(config), revocation)('Client');
  return resourceOperations({ db, revocation, clients });
}

/** A server that owns the embedded database keeps it: say how to reach it instead (nothing was changed). */
function openEmbeddedOrExplain(config: Config, logger: Logger): Database {
  try {
    return openDatabase(config.database, logger);
  } catch (error) {
    if (!(error instanceof EmbeddedDatabaseInUseError)) throw error;
    throw new CliError(
      `${error.message}, and only one process may open it: while the server runs, use its admin API (/admin, see docs/operations.md), or stop the server and run this command again`,
    );
  }
}

/** Runs the next commands over services the caller already holds (a migrated database it keeps open). */
export function provideCliContext(context: CliContext): void {
  opened = { context, owned: false };
}

export async function closeCliContext(): Promise<void> {
  if (opened?.owned) await opened.context.db.destroy();
  opened = undefined;
}

/** A readable failure: printed as one line, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}
