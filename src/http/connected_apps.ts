// The connected-apps view of the account pages: an account's grants with their clients' display
// metadata. Two statements however many apps are connected (grants, then their clients): one lookup
// per grant, all at once, drained the pool for an account with hundreds of grants.
import type { Database } from '../db/connect.ts';
import { describeScope } from '../provider/scopes.ts';
import { type ClientSummary, findClients } from '../storage/client_store.ts';
import { type GrantSummary, listGrants } from '../storage/grant_store.ts';
import type { ConnectedAppView } from './views/account_pages.ts';

/** The account's connected apps, newest first; with grantId, only that one (empty if not the account's). */
export async function connectedApps(db: Database, accountId: string, grantId?: string): Promise<ConnectedAppView[]> {
  const grants = await listGrants(db, { accountId, grantId });
  const clients = await findClients(db, grants.map((grant) => grant.clientId));
  return grants.map((grant) => toAppView(grant, clients.get(grant.clientId)));
}

function toAppView(grant: GrantSummary, client: ClientSummary | undefined): ConnectedAppView {
  return {
    grantId: grant.grantId,
    name: client?.clientName ?? appNameFromId(grant.clientId),
    clientId: grant.clientId,
    clientUri: client?.clientUri,
    logoUri: client?.logoUri,
    resources: Object.entries(grant.resources).map(([resource, scope]) => ({
      resource,
      scopes: scope
        .split(' ')
        .filter(Boolean)
        .map((name) => ({ name, description: describeScope(name) })),
    })),
    firstAuthorized: grant.createdAt,
    lastUsed: grant.lastUsedAt,
  };
}

/** A client known only by its id (a Client ID Metadata Document URL): show its host. */
function appNameFromId(clientId: string): string {
  const url = URL.parse(clientId);
  return url && url.protocol === 'https:' ? url.host : clientId;
}
