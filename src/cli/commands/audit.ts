import type { Command } from 'commander';
import { listAudit } from '../../storage/audit_store.ts';
import { cliContext } from '../context.ts';
import { type OutputOptions, printJson, printTable } from '../output.ts';
import { describeCounts } from '../revocation_output.ts';

export function registerAuditCommands(program: Command): void {
  program
    .command('audit')
    .description('the revocation audit trail')
    .command('list')
    .description('recent revocations, newest first')
    .option('--limit <n>', 'how many', (value) => Number.parseInt(value, 10), 50)
    .option('--json', 'print JSON')
    .action(async (flags: OutputOptions & { limit: number }) => {
      const { db } = await cliContext();
      const records = await listAudit(db, { limit: Number.isFinite(flags.limit) && flags.limit > 0 ? flags.limit : 50 });
      if (flags.json) printJson(records);
      else
        printTable(
          records.map((record) => ({
            at: record.at,
            actor: record.actor.id ? `${record.actor.type}:${record.actor.id}` : record.actor.type,
            action: record.action,
            target: JSON.stringify(record.target),
            counts: describeCounts(record.counts),
            reason: record.reason,
          })),
          'no revocations recorded',
        );
    });
}
