// The `portcullis` command line: a thin shell over the same services the HTTP surfaces use.
import { Command, CommanderError } from 'commander';
import { AccountInputError } from '../storage/account_store.ts';
import { ConfigError } from '../config.ts';
import { isDatabaseUnavailable, isUnstorableInput } from '../db/errors.ts';
import { RevocationTargetNotFound } from '../revocation/revocation_service.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerClientCommands } from './commands/clients.ts';
import { registerGrantCommands } from './commands/grants.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerMaintenanceCommands } from './commands/maintenance.ts';
import { registerResourceCommands } from './commands/resources.ts';
import { registerRevokeCommands } from './commands/revoke.ts';
import { registerSecretsCommands } from './commands/secrets.ts';
import { registerUserCommands } from './commands/users.ts';
import { type CliContext, CliError, closeCliContext, provideCliContext } from './context.ts';
import { packageVersion } from '../package_version.ts';
import { OperatorTargetNotFound } from '../revocation/operator_operations.ts';
import { InvalidResourceDefinition } from '../resources/resource_definition.ts';
import { ResourceAlreadyRegistered } from '../admin/resource_operations.ts';

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('Portcullis authorization server administration')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  registerUserCommands(program);
  registerRevokeCommands(program);
  registerClientCommands(program);
  registerResourceCommands(program);
  registerGrantCommands(program);
  registerAuditCommands(program);
  registerMaintenanceCommands(program);
  registerKeyCommands(program);
  registerSecretsCommands(program);
  return program;
}

const READABLE_ERRORS = [
  CliError,
  ConfigError,
  AccountInputError,
  RevocationTargetNotFound,
  OperatorTargetNotFound,
  InvalidResourceDefinition,
  ResourceAlreadyRegistered,
];

/** One line for the operator: never the SQL knex puts in front of a driver message. */
function describeFailure(error: unknown): string {
  if (READABLE_ERRORS.some((type) => error instanceof type)) return (error as Error).message;
  if (isUnstorableInput(error)) return 'invalid argument: a value contains characters the database cannot store (NUL?) or is too long';
  const message = error instanceof Error ? error.message : String(error);
  const driverMessage = /^(?:select|insert|update|delete|with)\b[\s\S]* - ([^\n]*)$/i.exec(message)?.[1] ?? message;
  if (isDatabaseUnavailable(error)) return `the database is unavailable: ${driverMessage}`;
  return `unexpected failure: ${driverMessage}`;
}

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
    process.stderr.write(`error: ${describeFailure(error)}\n`);
    return 1;
  } finally {
    await closeCliContext();
  }
}
