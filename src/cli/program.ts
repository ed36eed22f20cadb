// The `portcullis` command line: a thin shell over the same services the HTTP surfaces use.
import { Command, CommanderError } from 'commander';
import { AccountInputError } from '../accounts/account_store.ts';
import { ConfigError } from '../config.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerClientCommands } from './commands/clients.ts';
import { registerGrantCommands } from './commands/grants.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerMaintenanceCommands } from './commands/maintenance.ts';
import { registerRevokeCommands } from './commands/revoke.ts';
import { registerUserCommands } from './commands/users.ts';
import { type CliContext, CliError, closeCliContext, provideCliContext } from './context.ts';

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('Portcullis authorization server administration')
    .showHelpAfterError()
    .exitOverride();
  registerUserCommands(program);
  registerRevokeCommands(program);
  registerClientCommands(program);
  registerGrantCommands(program);
  registerAuditCommands(program);
  registerMaintenanceCommands(program);
  registerKeyCommands(program);
  return program;
}

const READABLE_ERRORS = [CliError, ConfigError, AccountInputError];

/**
 * Runs the CLI and returns the exit code; failures print one line on stderr. Given a context, the
 * commands use its database and services (left open) instead of opening their own from the environment.
 */
export async function runCli(argv: string[], context?: CliContext): Promise<number> {
  if (context) provideCliContext(context);
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const readable = READABLE_ERRORS.some((type) => error instanceof type);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${readable ? message : `unexpected failure: ${message}`}\n`);
    return 1;
  } finally {
    await closeCliContext();
  }
}
