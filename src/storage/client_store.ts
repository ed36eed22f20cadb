// Read access to registered clients for operators. The provider writes them through the adapter.
import type { Database } from '../db/connect.ts';

export interface ClientSummary {
  clientId: string;
  clientName: string | undefined;
  redirectUris: string[];
  tokenEndpointAuthMethod: string | undefined;
  createdAt: Date;
}

interface ClientRow {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  created_at: Date | string;
}

function toSummary(row: Pick<ClientRow, 'id' | 'payload' | 'created_at'>): ClientSummary {
  const metadata = row.payload;
  return {
    clientId: row.id,
    clientName: typeof metadata.client_name === 'string' ? metadata.client_name : undefined,
    redirectUris: Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris.map(String) : [],
    tokenEndpointAuthMethod:
      typeof metadata.token_endpoint_auth_method === 'string' ? metadata.token_endpoint_auth_method : undefined,
    createdAt: new Date(row.created_at),
  };
}

export async function listClients(db: Database): Promise<ClientSummary[]> {
  const rows = await db<ClientRow>('oidc_models')
    .select('id', 'payload', 'created_at')
    .where({ model: 'Client' })
    .orderBy('created_at');
  return rows.map(toSummary);
}

export async function findClient(db: Database, clientId: string): Promise<ClientSummary | undefined> {
  const row = await db<ClientRow>('oidc_models')
    .select('id', 'payload', 'created_at')
    .where({ model: 'Client', id: clientId })
    .first();
  return row ? toSummary(row) : undefined;
}
