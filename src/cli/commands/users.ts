import type { Command } from 'commander';
import { createAccount, listAccounts } from '../../accounts/account_store.ts';
import { cliContext, CliError } from '../context.ts';
import { type OutputOptions, printJson, printLine, printTable } from '../output.ts';

async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new CliError('no password: pass --password <password> or pipe it on standard input');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('manage the accounts people sign in with');

  users
    .command('add <email>')
    .description('create an account (password from --password or standard input); prints its id')
    .option('--password <password>', 'the password (prefer standard input: command lines are visible to other users)')
    .option('--json', 'print JSON')
    .action(async (email: string, options: OutputOptions & { password?: string }) => {
      const { db } = await cliContext();
      const password = options.password ?? (await readPasswordFromStdin());
      const account = await createAccount(db, email, password);
      if (options.json) printJson(account);
      else printLine(`created account ${account.id} <${account.email}>`);
    });

  users
    .command('list')
    .description('list accounts')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db } = await cliContext();
      const accounts = await listAccounts(db);
      if (options.json) printJson(accounts);
      else printTable(accounts.map(({ id, email, createdAt }) => ({ id, email, created: createdAt })), 'no accounts');
    });
}
