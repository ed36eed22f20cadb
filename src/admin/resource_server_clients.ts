// Creates the confidential client a resource server (an MCP server without database access,
// MCP_TOKEN_VALIDATION=introspection) uses at /introspect: client_secret_basic, no redirect URIs and
// no grant at all (introspection needs only client authentication), bound to one resource. The
// secret is returned once and never shown again; only its hash is stored (it is only ever compared).
import { randomBytes } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { hashedClientSecret } from '../secrets/client_secrets.ts';
import { addResourceServerClient } from '../storage/resource_server_store.ts';

export interface ResourceServerCredentials {
  resource: string;
  clientId: string;
  clientSecret: string;
}

export async function createResourceServerClient(
  db: Database,
  clients: Adapter,
  resource: string,
  name: string,
): Promise<ResourceServerCredentials> {
  const clientId = `resource-server-${randomBytes(12).toString('base64url')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  await clients.upsert(clientId, {
    client_id: clientId,
    client_secret: hashedClientSecret(clientSecret),
    client_name: name,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  await addResourceServerClient(db, clientId, resource, name);
  return { resource, clientId, clientSecret };
}
