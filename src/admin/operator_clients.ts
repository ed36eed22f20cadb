// Creates the confidential client an operator uses for the admin API: client credentials only,
// scope `admin`, audience `$ISSUER/admin`. The secret is returned once and never shown again; only
// its hash is stored (it is only ever compared: client_secret_basic).
import { randomBytes } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { hashedClientSecret } from '../secrets/client_secrets.ts';
import { addOperatorClient } from '../storage/operator_store.ts';

export const ADMIN_SCOPE = 'admin';

export function adminResource(issuer: string): string {
  return `${issuer}/admin`;
}

export interface OperatorCredentials {
  clientId: string;
  clientSecret: string;
}

export async function createOperatorClient(db: Database, clients: Adapter, name: string): Promise<OperatorCredentials> {
  const clientId = `operator-${randomBytes(12).toString('base64url')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  await clients.upsert(clientId, {
    client_id: clientId,
    client_secret: hashedClientSecret(clientSecret),
    client_name: name,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    // No `scope` metadata: `admin` is a resource scope, and only operator clients reach that resource.
    token_endpoint_auth_method: 'client_secret_basic',
  });
  await addOperatorClient(db, clientId, name);
  return { clientId, clientSecret };
}
