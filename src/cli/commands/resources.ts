// `portcullis resources ...`: the protected resources (MCP servers) this server issues tokens for.
import type { Command } from 'commander';
import { InvalidResourceDefinition, parseScopeArgument } from '../../resources/resource_definition.ts';
import { resourceJson } from '../../admin/resource_operations.ts';
import type { ResourceScope, StoredResource } from '../../storage/resource_store.ts';
import { cliResourceOperations } from '../context.ts';
import { type OutputOptions, printJson, printLine, printTable } from '../output.ts';
import { printOutcome, type RevokeFlags, withProgress } from '../revocation_output.ts';

interface DefinitionFlags extends OutputOptions {
  name?: string;
  scope: string[];
  accessTokenTtl?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function scopesOf(flags: DefinitionFlags): ResourceScope[] {
  return flags.scope.map(parseScopeArgument);
}

/** --access-token-ttl: seconds, or `default` (update only) for ACCESS_TOKEN_TTL. */
function ttlOf(value: string | undefined, allowDefault: boolean): number | null | undefined {
  if (value === undefined) return undefined;
  if (allowDefault && value === 'default') return null;
  if (!/^\d+$/.test(value)) throw new InvalidResourceDefinition(`--access-token-ttl wants whole seconds${allowDefault ? ' or `default`' : ''}, got ${JSON.stringify(value)}`);
  return Number(value);
}

function printResource(resource: StoredResource): void {
  printLine(`resource:         ${resource.url}`);
  printLine(`name:             ${resource.name}`);
  printLine(`access token TTL: ${resource.accessTokenTtl === undefined ? 'default (ACCESS_TOKEN_TTL)' : `${resource.accessTokenTtl} s`}`);
  printLine('scopes:');
  for (const scope of resource.scopes) printLine(`  ${scope.name}  ${scope.description}`);
}

export function registerResourceCommands(program: Command): void {
  const resources = program.command('resources').description('the protected resources (MCP servers) tokens are issued for');

  resources
    .command('add <url>')
    .description("register a resource and create its introspection client; prints the client's secret once")
    .requiredOption('--name <name>', 'display name, shown on consent and account pages')
    .option('--scope <name=description>', 'a scope and the text the consent page shows for it (repeat for each)', collect, [])
    .option('--access-token-ttl <seconds>', 'access-token lifetime for this resource (default: ACCESS_TOKEN_TTL)')
    .option('--json', 'print JSON: resource, client_id, client_secret (as `clients create-resource-server`)')
    .action(async (url: string, flags: DefinitionFlags) => {
      const added = await (await cliResourceOperations()).add({
        url,
        name: flags.name!,
        scopes: scopesOf(flags),
        accessTokenTtl: ttlOf(flags.accessTokenTtl, false) ?? undefined,
      });
      if (flags.json) {
        printJson({ resource: added.resource.url, client_id: added.clientId, client_secret: added.clientSecret });
        return;
      }
      printResource(added.resource);
      printLine(`client_id:        ${added.clientId}`);
      printLine(`client_secret:    ${added.clientSecret}   (shown once: store it now)`);
      printLine('the resource server validates tokens with these at the introspection endpoint, or reads the database');
    });

  resources
    .command('list')
    .description('list the registered resources')
    .option('--json', 'print JSON')
    .action(async (flags: OutputOptions) => {
      const list = await (await cliResourceOperations()).list();
      if (flags.json) printJson(list.map(resourceJson));
      else
        printTable(
          list.map((resource) => ({
            resource: resource.url,
            name: resource.name,
            scopes: resource.scopes.map((scope) => scope.name),
            access_token_ttl: resource.accessTokenTtl ?? 'default',
          })),
          'no resources (register one with `resources add`)',
        );
    });

  resources
    .command('show <url>')
    .description('a resource, its scopes and its resource-server clients')
    .option('--json', 'print JSON')
    .action(async (url: string, flags: OutputOptions) => {
      const view = await (await cliResourceOperations()).show(url);
      if (flags.json) {
        printJson({ ...resourceJson(view.resource), resource_server_clients: view.resourceServerClients });
        return;
      }
      printResource(view.resource);
      printLine(`resource-server clients: ${view.resourceServerClients.join(' ') || '-'}`);
    });

  resources
    .command('update <url>')
    .description('change the name, the scopes (--scope given: the whole new list) or the access-token lifetime')
    .option('--name <name>', 'new display name')
    .option('--scope <name=description>', 'the new scope list (repeat for each); grants keep what they were given', collect, [])
    .option('--access-token-ttl <seconds>', 'new lifetime in seconds, or `default`')
    .option('--json', 'print JSON')
    .action(async (url: string, flags: DefinitionFlags) => {
      const updated = await (await cliResourceOperations()).update(url, {
        name: flags.name,
        scopes: flags.scope.length > 0 ? scopesOf(flags) : undefined,
        accessTokenTtl: ttlOf(flags.accessTokenTtl, true),
      });
      if (flags.json) printJson(resourceJson(updated));
      else printResource(updated);
    });

  resources
    .command('remove <url>')
    .description('unregister a resource: revoke every grant for it and delete its resource-server clients')
    .option('--dry-run', 'report what would change, change nothing')
    .option('--json', 'print JSON')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .action(async (url: string, flags: RevokeFlags) => {
      const operations = await cliResourceOperations();
      printOutcome(await withProgress(flags, (options) => operations.remove(url, options)), flags);
    });
}
