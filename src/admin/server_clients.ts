// Confidential clients the server creates for itself (operators, resource servers): a random id with a
// prefix naming its role, a 256-bit secret returned once, only its hash stored (it is only ever
// compared: client_secret_basic), no redirect URIs.
import { randomBytes } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import { hashedClientSecret } from '../secrets/client_secrets.ts';

export interface ServerClientCredentials {
  clientId: string;
  clientSecret: string;
}

export async function storeServerClient(
  clients: Pick<Adapter, 'upsert'>,
  { idPrefix, name, grantTypes }: { idPrefix: string; name: string; grantTypes: string[] },
): Promise<ServerClientCredentials> {
  const clientId = `${idPrefix}-${randomBytes(12).toString('base64url')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  await clients.upsert(clientId, {
    client_id: clientId,
    client_secret: hashedClientSecret(clientSecret),
    client_name: name,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    grant_types: grantTypes,
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  return { clientId, clientSecret };
}
