import type { Command } from 'commander';
import { cliContext, cliOperations } from '../context.ts';
import { printOutcome, type RevokeFlags, withProgress } from '../revocation_output.ts';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function revocationFlags(command: Command): Command {
  return command
    .option('--dry-run', 'report what would be revoked, change nothing')
    .option('--json', 'print one JSON object: action, target, counts by model')
    .option('--reason <text>', 'why (kept in the audit trail)');
}

export function registerRevokeCommands(program: Command): void {
  const revoke = program.command('revoke').description('revoke tokens and grants (effective at the very next request)');

  revocationFlags(revoke.command('token <tokenOrJti>').description('revoke a token and the grant it belongs to')).action(
    async (token: string, flags: RevokeFlags) => {
      const { revocation } = await cliContext();
      printOutcome(await withProgress(flags, (options) => revocation.revokeToken(token, { ...options, requireTarget: true })), flags);
    },
  );

  revocationFlags(revoke.command('grant <grantId>').description("revoke one grant: a user's access to one client")).action(
    async (grantId: string, flags: RevokeFlags) => {
      const { revocation } = await cliContext();
      printOutcome(await withProgress(flags, (options) => revocation.revokeGrant(grantId, { ...options, requireTarget: true })), flags);
    },
  );

  revocationFlags(
    revoke
      .command('client <clientId>')
      .description("revoke a client's grants and tokens: all users, or only the --account ones")
      .option('--account <idOrEmail>', 'only this account (repeatable)', collect),
  ).action(async (clientId: string, flags: RevokeFlags & { account?: string[] }) => {
    const operations = await cliOperations();
    printOutcome(await withProgress(flags, (options) => operations.revokeClient(clientId, { ...options, accounts: flags.account })), flags);
  });

  revocationFlags(
    revoke
      .command('account <idOrEmail>')
      .description("revoke an account's grants: every client (and sign it out everywhere), or only --client")
      .option('--client <clientId>', 'only this client'),
  ).action(async (idOrEmail: string, flags: RevokeFlags & { client?: string }) => {
    const operations = await cliOperations();
    const account = await operations.findAccount(idOrEmail);
    printOutcome(
      await withProgress(flags, (options) => operations.revokeAccount(account.id, { ...options, clientId: flags.client })),
      flags,
      account.email,
    );
  });
}
