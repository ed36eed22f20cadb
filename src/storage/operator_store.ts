// Which clients are operators (may call the admin API). The client itself is stored by the adapter.
import type { Database } from '../db/connect.ts';

export async function isOperatorClient(db: Database, clientId: string): Promise<boolean> {
  return (await db('operator_clients').where({ client_id: clientId }).first()) !== undefined;
}

export async function addOperatorClient(db: Database, clientId: string, name: string): Promise<void> {
  await db('operator_clients').insert({ client_id: clientId, name });
}
