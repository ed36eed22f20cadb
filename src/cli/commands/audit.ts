import type { Command } from 'commander';
import { findEmailsByIds } from '../../storage/account_store.ts';
import { listAudit } from '../../storage/audit_store.ts';
import { positiveInteger } from '../arguments.ts';
import { cliContext } from '../context.ts';
import { type OutputOptions, printJson, printTable } from '../output.ts';
import { describeCounts } from '../revocation_output.ts';

/** The target as stored, with account ids shown as emails where the account still exists. */
function readableTarget(target: Record<string, unknown>, emails: Map<string, string>): string {
  const name = (id: unknown) => (typeof id === 'string' ? (emails.get(id) ?? id) : id);
  const shown: Record<string, unknown> = { ...target };
  if ('accountId' in shown) shown.accountId = name(shown.accountId);
  if (Array.isArray(shown.accountIds)) shown.accountIds = shown.accountIds.map(name);
  return JSON.stringify(shown);
}

export function registerAuditCommands(program: Command): void {
  program
    .command('audit')
    .description('the revocation audit trail')
    .command('list')
    .description('recent revocations, newest first')
    .option('--limit <n>', 'how many', positiveInteger, 50)
    .option('--json', 'print JSON')
    .action(async (flags: OutputOptions & { limit: number }) => {
      const { db } = await cliContext();
      const records = await listAudit(db, { limit: flags.limit });
      if (flags.json) {
        printJson(records);
        return;
      }
      const accountIds = records.flatMap((record) => [
        ...(record.actor.type === 'user' && record.actor.id ? [record.actor.id] : []),
        ...(typeof record.target.accountId === 'string' ? [record.target.accountId] : []),
        ...(Array.isArray(record.target.accountIds) ? record.target.accountIds.map(String) : []),
      ]);
      const emails = await findEmailsByIds(db, accountIds);
      printTable(
        records.map((record) => {
          const actorId = record.actor.type === 'user' && record.actor.id ? (emails.get(record.actor.id) ?? record.actor.id) : record.actor.id;
          return {
            at: record.at,
            actor: actorId ? `${record.actor.type}:${actorId}` : record.actor.type,
            action: record.action,
            target: readableTarget(record.target, emails),
            counts: describeCounts(record.counts),
            reason: record.reason,
          };
        }),
        'no revocations recorded',
      );
    });
}
