import type { Command } from 'commander';
import { listServerKeys, rotateServerKeys } from '../../storage/key_store.ts';
import { loadKeyring } from '../../secrets/keyring_source.ts';
import { cliContext } from '../context.ts';
import { type OutputOptions, printJson, printLine, printTable } from '../output.ts';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('signing and cookie keys shared by every server process');
  keys
    .command('rotate')
    .description('add a new signing key and cookie key and retire the current ones (kept for KEYS_GRACE_PERIOD); running servers pick them up without a restart')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db, config } = await cliContext();
      const result = await rotateServerKeys(db, loadKeyring(config), config.keys.gracePeriod);
      if (options.json) printJson(result);
      else {
        printLine(`new signing key ${result.added.signing}, new cookie key ${result.added.cookie}`);
        printLine(`retired ${result.retired.length} key(s), usable for ${config.keys.gracePeriod} s; deleted ${result.deleted.length} past their grace period`);
      }
    });
  keys
    .command('list')
    .description('stored keys (ids and dates only, never key material)')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db } = await cliContext();
      const listing = await listServerKeys(db);
      if (options.json) printJson(listing);
      else printTable(listing.map((key) => ({ ...key })), 'no keys yet (the server creates them on first start)');
    });
}
