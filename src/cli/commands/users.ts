import { isCancel, password as promptPassword } from '@clack/prompts';
import type { Command } from 'commander';
import { changePassword, createAccount, createPasswordlessAccount, listAccounts } from '../../storage/account_store.ts';
import { inviteAccount } from '../../accounts/self_service.ts';
import { identitiesOf, linkIdentity, unlinkIdentities } from '../../storage/upstream_identity_store.ts';
import { cliContext, CliError, cliOperations } from '../context.ts';
import { type OutputOptions, printJson, printLine, printTable } from '../output.ts';
import { printOutcome, type RevokeFlags, withProgress } from '../revocation_output.ts';
import { revocationFlags } from './revoke.ts';

async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new CliError('no password: pass --password <password> or pipe it on standard input');
  }
  return readStdinLine();
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks twice on a terminal, without echo. */
async function promptNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError('no password: pass --password-stdin and pipe it, or run on a terminal to be asked');
  const first = await promptPassword({ message: 'New password' });
  if (isCancel(first)) throw new CliError('cancelled: the password is unchanged');
  const second = await promptPassword({ message: 'The same password again' });
  if (isCancel(second)) throw new CliError('cancelled: the password is unchanged');
  if (first !== second) throw new CliError('the two passwords differ: the password is unchanged');
  return first;
}

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('manage the accounts people sign in with');

  users
    .command('add <email>')
    .description('create an account (password from --password or standard input, or --passwordless); prints its id')
    .option('--password <password>', 'the password (prefer standard input: command lines are visible to other users)')
    .option('--passwordless', 'no password: the account signs in only through an upstream provider (users link)')
    .option('--json', 'print JSON')
    .action(async (email: string, options: OutputOptions & { password?: string; passwordless?: boolean }) => {
      const { db } = await cliContext();
      if (options.passwordless && options.password !== undefined) throw new CliError('--passwordless and --password contradict each other: choose one');
      const account = options.passwordless
        ? await createPasswordlessAccount(db, email)
        : await createAccount(db, email, options.password ?? (await readPasswordFromStdin()));
      if (!account) throw new CliError(`an account with email ${email.trim().toLowerCase()} already exists`);
      if (options.json) printJson(account);
      else printLine(`created account ${account.id} <${account.email}>`);
    });

  users
    .command('invite <email>')
    .description('print a single-use sign-up link for <email> (valid 7 days; SIGNUP=invite): send it to the person')
    .option('--json', 'print JSON')
    .action(async (email: string, options: OutputOptions) => {
      const { db, config } = await cliContext();
      const invitation = await inviteAccount(db, config.issuer, email);
      if (options.json) printJson(invitation);
      else {
        if (config.selfService.signup !== 'invite') printLine(`note: SIGNUP is ${config.selfService.signup}, so the server does not take invitations now (set SIGNUP=invite)`);
        printLine(`invitation for ${invitation.email}, single use, until ${invitation.expiresAt.toISOString()}:`);
        printLine(invitation.link);
      }
    });

  users
    .command('list')
    .description('list accounts, with the upstream identities each signs in with')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db } = await cliContext();
      const accounts = await listAccounts(db);
      const identities = await identitiesOf(db, accounts.map((account) => account.id));
      const upstreamsOf = (id: string) =>
        (identities.get(id) ?? []).map(({ upstreamId, issuer, subject, createdAt, lastSignInAt }) => ({ upstreamId, issuer, subject, linkedAt: createdAt, lastSignInAt }));
      if (options.json) printJson(accounts.map((account) => ({ ...account, upstreamIdentities: upstreamsOf(account.id) })));
      else
        printTable(
          accounts.map(({ id, email, createdAt, disabledAt, emailVerified }) => ({
            email,
            id,
            created: createdAt,
            verified: emailVerified,
            disabled: disabledAt,
            upstream: upstreamsOf(id).map(({ upstreamId, subject }) => `${upstreamId}:${subject}`).join(' ') || undefined,
          })),
          'no accounts',
        );
    });

  users
    .command('link <idOrEmail> <upstream> <subject>')
    .description("let the identity `subject` at the upstream provider `upstream` (its id in UPSTREAM_PROVIDERS_FILE) sign in to the account")
    .action(async (idOrEmail: string, upstream: string, subject: string) => {
      const { db, config } = await cliContext();
      const provider = config.signIn.upstreams.find((candidate) => candidate.id === upstream);
      if (!provider) {
        const known = config.signIn.upstreams.map((candidate) => candidate.id).join(', ') || 'none (UPSTREAM_PROVIDERS_FILE)';
        throw new CliError(`no upstream provider ${upstream} is configured; configured: ${known}`);
      }
      const account = await (await cliOperations()).findAccount(idOrEmail);
      const linked = await linkIdentity(db, { issuer: provider.issuer, subject, accountId: account.id, upstreamId: provider.id });
      if (!linked) throw new CliError(`${provider.id} identity ${subject} is linked to an account already (users list shows which; users unlink frees it)`);
      printLine(`linked ${provider.id} identity ${subject} to ${account.email}`);
    });

  users
    .command('unlink <idOrEmail> <upstream>')
    .description('remove the link between an account and its identity at an upstream provider (its id or issuer): that identity no longer signs in to it')
    .action(async (idOrEmail: string, upstream: string) => {
      const { db } = await cliContext();
      const account = await (await cliOperations()).findAccount(idOrEmail);
      const removed = await unlinkIdentities(db, account.id, upstream);
      if (removed === 0) throw new CliError(`${account.email} has no identity linked through ${upstream}`);
      printLine(`unlinked ${removed} ${upstream} identit${removed === 1 ? 'y' : 'ies'} from ${account.email}; its sessions and connected apps are unchanged`);
    });

  users
    .command('set-password <idOrEmail>')
    .description('set a new password (asked on a terminal, or one line on standard input with --password-stdin)')
    .option('--password-stdin', 'read the new password from standard input')
    .action(async (idOrEmail: string, options: { passwordStdin?: boolean }) => {
      const { db } = await cliContext();
      const account = await (await cliOperations()).findAccount(idOrEmail);
      const password = options.passwordStdin ? await readStdinLine() : await promptNewPassword();
      await changePassword(db, account.id, password);
      printLine(`password changed for ${account.email}; connected apps keep their access (revoke account ${account.email} ends it)`);
    });

  const lifecycle: { name: string; description: string; run: 'disableAccount' | 'enableAccount' | 'deleteAccount' }[] = [
    {
      name: 'disable',
      description: 'revoke everything the account holds, sign it out everywhere and refuse its sign-in until enabled',
      run: 'disableAccount',
    },
    { name: 'enable', description: 'let a disabled account sign in again', run: 'enableAccount' },
    {
      name: 'delete',
      description: "revoke everything, then erase the account's personal data (its email, password hash, notes and pending links)",
      run: 'deleteAccount',
    },
  ];
  for (const step of lifecycle) {
    const command = revocationFlags(users.command(`${step.name} <idOrEmail>`).description(step.description));
    if (step.run === 'deleteAccount') command.option('--yes', 'confirm: the account cannot be restored');
    command.action(async (idOrEmail: string, flags: RevokeFlags & { yes?: boolean }) => {
      if (step.run === 'deleteAccount' && !flags.yes && !flags.dryRun) {
        throw new CliError('users delete erases the account for good: add --yes (or --dry-run to see what it would remove)');
      }
      const { revocation } = await cliContext();
      const account = await (await cliOperations()).findAccount(idOrEmail);
      printOutcome(await withProgress(flags, (options) => revocation[step.run](account.id, options)), flags, account.email);
    });
  }
}
