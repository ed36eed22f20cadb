import type { Command } from 'commander';
import { listClients } from '../../storage/client_store.ts';
import { cliContext } from '../context.ts';
import { type OutputOptions, printJson, printTable } from '../output.ts';

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
}
