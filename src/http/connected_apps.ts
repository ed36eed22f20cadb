// The connected-apps view of the account pages: an account's grants with their clients' display
// metadata, named as the consent page named them. Two statements however many apps are connected
// (grants, then their stored clients): one lookup per grant, all at once, drained the pool for an
// account with hundreds of grants. Metadata document clients are never stored: the provider resolves
// them from their documents (cached per HTTP caching headers, failures remembered briefly).
import type Provider from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { describeScope } from '../scopes.ts';
import { registeredResources } from '../resources/resource_registry.ts';
import { resourceKey } from '../resources/resource_definition.ts';
import type { StoredResource } from '../storage/resource_store.ts';
import { findClients, isMetadataDocumentClientId } from '../storage/client_store.ts';
import { type GrantSummary, listGrants } from '../storage/grant_store.ts';
import { type ClientFacts, clientIdentity } from './client_identity.ts';
import type { ConnectedAppView } from './views/account_pages.ts';

/** The account's connected apps, newest first; with grantId, only that one (empty if not the account's). */
export async function connectedApps(
  { db, provider }: { db: Database; provider: Provider },
  accountId: string,
  grantId?: string,
): Promise<ConnectedAppView[]> {
  const [grants, resources] = await Promise.all([listGrants(db, { accountId, grantId }), registeredResources(db)]);
  const byUrl = new Map(resources.map((resource) => [resource.url, resource]));
  const clientIds = [...new Set(grants.map((grant) => grant.clientId))];
  const stored = await findClients(db, clientIds.filter((id) => !isMetadataDocumentClientId(id)));
  const documents = await Promise.all(clientIds.filter(isMetadataDocumentClientId).map((id) => documentClient(provider, id)));
  const facts = new Map<string, ClientFacts>([...stored, ...documents.map((client) => [client.clientId, client] as const)]);
  return grants.map((grant) => toAppView(grant, facts.get(grant.clientId), (url) => byUrl.get(resourceKey(url) ?? url)));
}

/** What the consent page said about a metadata document client; when its document fails, its host still names it. */
async function documentClient(provider: Provider, clientId: string): Promise<ClientFacts> {
  const client = await provider.Client.find(clientId).catch(() => undefined);
  return { clientId, clientName: client?.clientName, logoUri: client?.logoUri, clientUri: client?.clientUri, clientIdMetadataDocument: true };
}

function toAppView(
  grant: GrantSummary,
  client: ClientFacts | undefined,
  registered: (url: string) => StoredResource | undefined,
): ConnectedAppView {
  const identity = clientIdentity(client, grant.clientId, undefined);
  const document = identity.source.kind === 'document' ? identity.source.host : undefined;
  return {
    grantId: grant.grantId,
    name: client?.clientName || document || grant.clientId,
    identifiedBy: document,
    clientId: grant.clientId,
    clientUri: identity.clientUri,
    logoUri: identity.logoUri,
    resources: Object.entries(grant.resources).map(([resource, scope]) => {
      // Named and described as the consent page showed it; a resource since removed keeps its URL.
      const known = registered(resource);
      return {
        resource,
        name: known?.name,
        scopes: scope
          .split(' ')
          .filter(Boolean)
          .map((name) => ({ name, description: known?.scopes.find((entry) => entry.name === name)?.description ?? describeScope(name) })),
      };
    }),
    firstAuthorized: grant.createdAt,
    lastUsed: grant.lastUsedAt,
  };
}
