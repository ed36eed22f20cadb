import type { Command } from 'commander';
import { migrateToLatest, rollbackAll, rollbackOne, runSeeds } from '../../db/migrate.ts';
import { CLOCK_TOLERANCE } from '../../provider/configuration.ts';
import { purgeExpired } from '../../storage/janitor.ts';
import { cliContext, CliError } from '../context.ts';
import { type OutputOptions, printJson, printLine } from '../output.ts';

export function registerMaintenanceCommands(program: Command): void {
  program
    .command('janitor')
    .description('delete expired tokens, sessions, grants and tombstones now')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db } = await cliContext();
      const counts = await purgeExpired(db, CLOCK_TOLERANCE);
      if (options.json) printJson({ purged: counts });
      else printLine(`purged ${Object.entries(counts).map(([kind, count]) => `${count} ${kind}`).join(', ')}`);
    });

  const database = program.command('db').description('database schema and seed data');
  database
    .command('migrate')
    .description('apply pending migrations')
    .action(async () => {
      const { db } = await cliContext({ migrate: false });
      const applied = await migrateToLatest(db);
      printLine(applied.length ? `applied ${applied.join(', ')}` : 'already up to date');
    });
  database
    .command('seed')
    .description('create the demo account (refused when NODE_ENV=production)')
    .action(async () => {
      const { db, config } = await cliContext();
      if (config.env === 'production') throw new CliError('refusing to seed the demo account when NODE_ENV=production');
      await runSeeds(db);
      printLine('seeded the demo account demo@example.com');
    });
  database
    .command('rollback')
    .description('revert the newest migration (its data is dropped); --all: every migration (all data is dropped)')
    .option('--all', 'revert every migration')
    .requiredOption('--yes', 'confirm that the reverted migrations\' data will be dropped')
    .action(async (options: { all?: boolean }) => {
      const { db } = await cliContext({ migrate: false });
      const reverted = options.all ? await rollbackAll(db) : await rollbackOne(db);
      printLine(reverted.length ? `reverted ${reverted.join(', ')}` : 'nothing to revert');
    });
}
