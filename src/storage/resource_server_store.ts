// Which clients are resource servers (may introspect tokens issued for their resource). The client
// itself is stored by the adapter.
import type { Database } from '../db/connect.ts';

/** The resource a resource-server client introspects for, or undefined for any other client. */
export async function resourceServerResource(db: Database, clientId: string): Promise<string | undefined> {
  const row = await db('resource_server_clients').select('resource').where({ client_id: clientId }).first();
  return row ? String(row.resource) : undefined;
}

export async function addResourceServerClient(db: Database, clientId: string, resource: string, name: string): Promise<void> {
  await db('resource_server_clients').insert({ client_id: clientId, resource, name });
}
