// Creates the confidential client a resource server (an MCP server without database access,
// MCP_TOKEN_VALIDATION=introspection) uses at /introspect, bound to one resource.
import type { Adapter } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { addResourceServerClient } from '../storage/resource_server_store.ts';
import { storeServerClient } from './server_clients.ts';

export interface ResourceServerCredentials {
  resource: string;
  clientId: string;
  clientSecret: string;
}

export async function createResourceServerClient(
  db: Database,
  clients: Pick<Adapter, 'upsert'>,
  resource: string,
  name: string,
): Promise<ResourceServerCredentials> {
  // No grant at all: introspection needs only client authentication.
  const credentials = await storeServerClient(clients, { idPrefix: 'resource-server', name, grantTypes: [] });
  await addResourceServerClient(db, credentials.clientId, resource, name);
  return { resource, ...credentials };
}
