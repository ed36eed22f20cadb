import type { Command } from 'commander';
import { adminResource, createOperatorClient } from '../../admin/operator_clients.ts';
import { createAdapterFactory } from '../../adapter/knex_adapter.ts';
import { CLOCK_TOLERANCE } from '../../provider/configuration.ts';
import { clientSecretCodec } from '../../secrets/client_secrets.ts';
import { loadKeyring } from '../../secrets/keyring_source.ts';
import { findClient, isClientDisabled, isKnownClientId, listClients } from '../../storage/client_store.ts';
import { listGrants } from '../../storage/grant_store.ts';
import { cliContext, CliError } from '../context.ts';
import { type OutputOptions, printJson, printLine, printTable } from '../output.ts';
import { printOutcome, type RevokeFlags, withProgress } from '../revocation_output.ts';

export async function requireKnownClient(clientId: string): Promise<void> {
  const { db } = await cliContext();
  if (!(await isKnownClientId(db, clientId))) throw new CliError(`no client ${JSON.stringify(clientId)}`);
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
      const clientCodec = clientSecretCodec(loadKeyring(config));
      const adapter = createAdapterFactory(db, { clockTolerance: CLOCK_TOLERANCE, revocation, clientCodec })('Client');
      const credentials = await createOperatorClient(db, adapter, name);
      const resource = adminResource(config.issuer);
      if (options.json) {
        printJson({ ...credentials, resource, tokenEndpoint: `${config.issuer}/token` });
        return;
      }
      printLine(`client_id:     ${credentials.clientId}`);
      printLine(`client_secret: ${credentials.clientSecret}   (shown once: store it now)`);
      printLine(`get a token:   curl -u '${credentials.clientId}:<secret>' -d grant_type=client_credentials \\`);
      printLine(`                 -d scope=admin -d resource=${resource} ${config.issuer}/token`);
    });

  clients
    .command('show <clientId>')
    .description('a client, whether it is disabled, and its grants')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: OutputOptions) => {
      const { db } = await cliContext();
      const client = await findClient(db, clientId);
      const disabled = await isClientDisabled(db, clientId);
      if (!client && !disabled) throw new CliError(`no client ${JSON.stringify(clientId)}`);
      const grants = await listGrants(db, { clientId });
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
        const { revocation } = await cliContext();
        if (mutation.run !== 'enableClient') await requireKnownClient(clientId);
        printOutcome(await withProgress(flags, (options) => revocation[mutation.run](clientId, options)), flags);
      });
  }
}
