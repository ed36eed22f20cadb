// Read access to registered clients for operators. The provider writes them through the adapter.
import type { Knex } from 'knex';
import type { Database } from '../db/connect.ts';

export interface ClientSummary {
  clientId: string;
  clientName: string | undefined;
  redirectUris: string[];
  tokenEndpointAuthMethod: string | undefined;
  /** Display metadata the client registered (RFC 7591), unchecked: render escaped, links only if http(s). */
  clientUri: string | undefined;
  logoUri: string | undefined;
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
    clientUri: typeof metadata.client_uri === 'string' ? metadata.client_uri : undefined,
    logoUri: typeof metadata.logo_uri === 'string' ? metadata.logo_uri : undefined,
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

/** The stored clients among these ids, by id, in one statement (ids with no stored client are absent). */
export async function findClients(db: Database, clientIds: readonly string[]): Promise<Map<string, ClientSummary>> {
  const unique = [...new Set(clientIds)];
  if (unique.length === 0) return new Map();
  const rows = await db<ClientRow>('oidc_models')
    .select('id', 'payload', 'created_at')
    .where({ model: 'Client' })
    .whereIn('id', unique);
  return new Map(rows.map((row) => [row.id, toSummary(row)]));
}

/** A Client ID Metadata Document client's id is an https URL; registered and operator ids never are. */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return URL.parse(clientId)?.protocol === 'https:';
}

/**
 * Whether an operator may address this client id: a registered client must exist; a Client ID
 * Metadata Document client is never stored, so any https URL counts.
 */
export async function isKnownClientId(db: Database, clientId: string): Promise<boolean> {
  return isMetadataDocumentClientId(clientId) || (await findClient(db, clientId)) !== undefined;
}

export async function isClientDisabled(db: Database | Knex.Transaction, clientId: string): Promise<boolean> {
  return (await db('disabled_clients').where({ client_id: clientId }).first()) !== undefined;
}

/** Marks a client disabled; true when it was not disabled before. */
export async function markClientDisabled(db: Knex.Transaction, clientId: string, reason: string | undefined): Promise<boolean> {
  const inserted = await db('disabled_clients')
    .insert({ client_id: clientId, reason: reason ?? null })
    .onConflict('client_id')
    .ignore()
    .returning('client_id');
  return inserted.length > 0;
}

/** Clears the disabled mark; true when the client was disabled. */
export async function markClientEnabled(db: Knex.Transaction, clientId: string): Promise<boolean> {
  return (await db('disabled_clients').where({ client_id: clientId }).delete()) > 0;
}
