import type { Command } from 'commander';
import { findEmailsByIds } from '../../storage/account_store.ts';
import { listGrants } from '../../storage/grant_store.ts';
import { cliContext, cliOperations } from '../context.ts';
import { type OutputOptions, printJson, printTable } from '../output.ts';
import { describeCounts } from '../revocation_output.ts';

export function registerGrantCommands(program: Command): void {
  program
    .command('grants')
    .description('grants: who authorized which client')
    .command('list')
    .description('list grants, newest first')
    .option('--client <clientId>', 'only this client')
    .option('--account <idOrEmail>', 'only this account')
    .option('--json', 'print JSON')
    .action(async (flags: OutputOptions & { client?: string; account?: string }) => {
      const { db } = await cliContext();
      const accountId = flags.account ? await (await cliOperations()).resolveAccount(flags.account) : undefined;
      const grants = await listGrants(db, { clientId: flags.client, accountId });
      if (flags.json) {
        printJson(grants);
        return;
      }
      const emails = await findEmailsByIds(db, grants.map((grant) => grant.accountId));
      printTable(
        grants.map((grant) => ({
          grant_id: grant.grantId,
          client_id: grant.clientId,
          account: emails.get(grant.accountId) ?? grant.accountId,
          scopes: Object.values(grant.resources).join(' ') || grant.openidScope,
          tokens: describeCounts(grant.tokens),
          created: grant.createdAt,
        })),
        'no grants',
      );
    });
}
