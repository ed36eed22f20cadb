// Creates the confidential client an operator uses for the admin API: client credentials only,
// scope `admin`, audience `$ISSUER/admin`.
import type { Adapter } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { addOperatorClient } from '../storage/operator_store.ts';
import { type ServerClientCredentials, storeServerClient } from './server_clients.ts';

// The admin API's resource and scope are declared with the other resources' (provider/scopes.ts).
export { ADMIN_SCOPE, adminResource } from '../scopes.ts';

export async function createOperatorClient(db: Database, clients: Pick<Adapter, 'upsert'>, name: string): Promise<ServerClientCredentials> {
  // No `scope` metadata: `admin` is a resource scope, and only operator clients reach that resource.
  const credentials = await storeServerClient(clients, { idPrefix: 'operator', name, grantTypes: ['client_credentials'] });
  await addOperatorClient(db, credentials.clientId, name);
  return credentials;
}
