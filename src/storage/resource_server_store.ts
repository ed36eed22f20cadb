// Which clients are resource servers (may introspect tokens issued for their resource). The client
// itself is stored by the adapter.
import type { Knex } from 'knex';
import type { Database } from '../db/connect.ts';

/** The resource a resource-server client introspects for, or undefined for any other client. */
export async function resourceServerResource(db: Database, clientId: string): Promise<string | undefined> {
  const row = await db('resource_server_clients').select('resource').where({ client_id: clientId }).first();
  return row ? String(row.resource) : undefined;
}

export async function addResourceServerClient(db: Database, clientId: string, resource: string, name: string): Promise<void> {
  await db('resource_server_clients').insert({ client_id: clientId, resource, name });
}

/** The resource-server clients of a resource (stored URLs compare without a trailing slash). */
export async function resourceServerClientIds(db: Database | Knex.Transaction, resource: string): Promise<string[]> {
  const rows: { client_id: string }[] = await db('resource_server_clients')
    .select('client_id')
    .whereRaw(`rtrim(resource, '/') = ?`, [resource])
    .orderBy('client_id');
  return rows.map((row) => row.client_id);
}

/** Forgets that these clients are resource servers (their client rows go with deleteClientData). */
export async function removeResourceServerClients(db: Database | Knex.Transaction, clientIds: string[]): Promise<number> {
  return db('resource_server_clients').whereIn('client_id', clientIds).delete();
}
