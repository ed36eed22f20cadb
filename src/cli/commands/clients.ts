import type { Command } from 'commander';
import { adminResource, createOperatorClient } from '../../admin/operator_clients.ts';
import { createResourceServerClient } from '../../admin/resource_server_clients.ts';
import { providerModels } from '../../provider/build_provider.ts';
import { findRegisteredResource } from '../../resources/resource_registry.ts';
import { ensureDefaultResource } from '../../resources/default_resource.ts';
import { loadKeyring } from '../../secrets/keyring_source.ts';
import { listClients } from '../../storage/client_store.ts';
import { recordedServerIssuer } from '../../storage/server_settings_store.ts';
import { cliContext, CliError, cliOperations } from '../context.ts';
import { type OutputOptions, printJson, printLine, printTable } from '../output.ts';
import { printOutcome, type RevokeFlags, withProgress } from '../revocation_output.ts';

/**
 * The issuer the authorization server recorded at its last start on this database: tokens for the
 * admin API name it, whatever ISSUER this shell has. Before any server start, this environment's.
 */
async function serverIssuer(ownIssuer: string): Promise<string> {
  const { db } = await cliContext();
  const recorded = await recordedServerIssuer(db);
  if (recorded === undefined) {
    process.stderr.write(`warning: no server has started on this database yet; assuming its issuer is ${ownIssuer} (ISSUER here)\n`);
    return ownIssuer;
  }
  if (recorded !== ownIssuer) {
    process.stderr.write(`note: the server runs with issuer ${recorded} (recorded at its start), not ${ownIssuer} (ISSUER here)\n`);
  }
  return recorded;
}

export function registerClientCommands(program: Command): void {
  const clients = program.command('clients').description('inspect and manage registered OAuth clients');

  clients
    .command('list')
    .description('list registered clients')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db } = await cliContext();
      const list = await listClients(db);
      if (options.json) printJson(list);
      else
        printTable(
          list.map((client) => ({
            client_id: client.clientId,
            name: client.clientName,
            auth: client.tokenEndpointAuthMethod,
            redirect_uris: client.redirectUris,
            created: client.createdAt,
          })),
          'no clients',
        );
    });

  clients
    .command('create-operator <name>')
    .description('create a client for the admin API (client credentials, scope admin); prints its secret once')
    .option('--json', 'print JSON')
    .action(async (name: string, options: OutputOptions) => {
      const { db, config, revocation } = await cliContext();
      const adapter = providerModels(db, loadKeyring(config), revocation)('Client');
      const issuer = await serverIssuer(config.issuer);
      const credentials = await createOperatorClient(db, adapter, name);
      const resource = adminResource(issuer);
      if (options.json) {
        printJson({ ...credentials, issuer, resource, tokenEndpoint: `${issuer}/token` });
        return;
      }
      printLine(`client_id:     ${credentials.clientId}`);
      printLine(`client_secret: ${credentials.clientSecret}   (shown once: store it now)`);
      printLine(`get a token:   curl -u '${credentials.clientId}:<secret>' -d grant_type=client_credentials \\`);
      printLine(`                 -d scope=admin -d resource=${resource} ${issuer}/token`);
    });

  clients
    .command('create-resource-server <resource>')
    .description('create the client a resource server introspects tokens of <resource> with; prints its secret once')
    .option('--name <name>', 'a name for operators', 'resource server')
    .option('--json', 'print JSON: resource, client_id, client_secret')
    .action(async (resource: string, options: OutputOptions & { name: string }) => {
      const { db, config, revocation, logger } = await cliContext();
      // MCP_RESOURCE is the one-resource shortcut here as at start-up: that URL is registered if missing.
      if (config.resourceFromEnvironment) await ensureDefaultResource(db, config, logger);
      // Tokens are issued only for registered resources: a client for any other could never introspect.
      const registered = await findRegisteredResource(db, resource);
      if (!registered) {
        throw new CliError(`unknown resource ${JSON.stringify(resource)}: no resource is registered at this URL (see \`resources list\`, \`resources add\`)`);
      }
      const adapter = providerModels(db, loadKeyring(config), revocation)('Client');
      const credentials = await createResourceServerClient(db, adapter, registered.url, options.name);
      if (options.json) {
        printJson({ resource: credentials.resource, client_id: credentials.clientId, client_secret: credentials.clientSecret });
        return;
      }
      printLine(`resource:      ${credentials.resource}`);
      printLine(`client_id:     ${credentials.clientId}`);
      printLine(`client_secret: ${credentials.clientSecret}   (shown once: store it now)`);
      printLine(`for the MCP server: MCP_TOKEN_VALIDATION=introspection MCP_INTROSPECTION_CLIENT_ID=${credentials.clientId} \\`);
      printLine(`                    MCP_INTROSPECTION_CLIENT_SECRET=<secret>`);
    });

  clients
    .command('show <clientId>')
    .description('a client, whether it is disabled, and its grants')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: OutputOptions) => {
      const { client, disabled, grants } = await (await cliOperations()).showClient(clientId);
      if (options.json) {
        printJson({ client, disabled, grants });
        return;
      }
      printTable(
        [{ client_id: clientId, name: client?.clientName, disabled, grants: grants.length, redirect_uris: client?.redirectUris }],
        '',
      );
    });

  const mutations: { name: string; description: string; run: 'disableClient' | 'enableClient' | 'deleteClient' }[] = [
    { name: 'disable', description: 'revoke everything of the client and refuse it until enabled', run: 'disableClient' },
    { name: 'enable', description: 'let a disabled client authorize again', run: 'enableClient' },
    { name: 'delete', description: 'delete the client with every grant and token issued to it', run: 'deleteClient' },
  ];
  for (const mutation of mutations) {
    clients
      .command(`${mutation.name} <clientId>`)
      .description(mutation.description)
      .option('--dry-run', 'report what would change, change nothing')
      .option('--json', 'print JSON')
      .option('--reason <text>', 'why (kept in the audit trail)')
      .action(async (clientId: string, flags: RevokeFlags) => {
        const operations = await cliOperations();
        printOutcome(await withProgress(flags, (options) => operations[mutation.run](clientId, options)), flags);
      });
  }
}
