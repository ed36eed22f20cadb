// What an operator may do to the resource registry, whichever surface asks (the CLI, the admin API):
// definitions are checked and URLs normalized here, once; removal goes through the revocation
// service (audited, with the grants for the resource). A surface only turns the errors below into
// its own answer, and prints resourceJson's shape.
import type { Adapter } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { createResourceServerClient } from './resource_server_clients.ts';
import { OperatorTargetNotFound } from '../revocation/operator_operations.ts';
import type { RevocationOptions, RevocationOutcome, RevocationService } from '../revocation/revocation_service.ts';
import { resourceServerClientIds } from '../storage/resource_server_store.ts';
import { findResource, insertResource, listResources, type ResourceChanges, type StoredResource, updateResource } from '../storage/resource_store.ts';
import { checkResourceChanges, checkResourceDefinition, normalizeResourceUrl } from '../resources/resource_definition.ts';

/** No resource is registered at the URL named. */
export class ResourceNotFound extends OperatorTargetNotFound {
  override name = 'ResourceNotFound';
}

/** `resources add` for a URL registered already (nothing was changed). */
export class ResourceAlreadyRegistered extends Error {
  override name = 'ResourceAlreadyRegistered';
}

export interface AddedResource {
  resource: StoredResource;
  /** Its introspection client (as `clients create-resource-server` makes): the secret is shown once. */
  clientId: string;
  clientSecret: string;
}

export interface ResourceView {
  resource: StoredResource;
  resourceServerClients: string[];
}

export interface ResourceOperations {
  add(input: { url: string; name: string; scopes: unknown; accessTokenTtl?: number | undefined }): Promise<AddedResource>;
  list(): Promise<StoredResource[]>;
  show(url: string): Promise<ResourceView>;
  update(url: string, changes: ResourceChanges): Promise<StoredResource>;
  /** Revokes every grant for the resource, deletes its resource-server clients, then unregisters it. */
  remove(url: string, options: RevocationOptions): Promise<RevocationOutcome>;
}

export interface ResourceOperationsDependencies {
  db: Database;
  revocation: RevocationService;
  /** The provider's Client adapter (resource-server clients are stored as clients). */
  clients: Adapter;
  /** After a change, so this process's snapshot follows at once (others hear a notification). */
  onChange?: (() => Promise<void>) | undefined;
}

export function resourceOperations({ db, revocation, clients, onChange }: ResourceOperationsDependencies): ResourceOperations {
  async function changed(): Promise<void> {
    await onChange?.();
  }

  async function requireResource(url: string): Promise<StoredResource> {
    const key = normalizeResourceUrl(url);
    const resource = await findResource(db, key);
    if (!resource) throw new ResourceNotFound(`no resource ${JSON.stringify(key)} is registered (see \`resources list\`)`);
    return resource;
  }

  return {
    async add(input) {
      const definition = checkResourceDefinition(input);
      if (!(await insertResource(db, definition))) {
        throw new ResourceAlreadyRegistered(`resource ${JSON.stringify(definition.url)} is registered already: change it with \`resources update\``);
      }
      await changed();
      const credentials = await createResourceServerClient(db, clients, definition.url, `${definition.name} (resource server)`);
      return { resource: (await findResource(db, definition.url))!, clientId: credentials.clientId, clientSecret: credentials.clientSecret };
    },

    list: () => listResources(db),

    async show(url) {
      const resource = await requireResource(url);
      return { resource, resourceServerClients: await resourceServerClientIds(db, resource.url) };
    },

    async update(url, changes) {
      const { url: key } = await requireResource(url);
      const updated = await updateResource(db, key, checkResourceChanges(changes));
      if (!updated) throw new ResourceNotFound(`no resource ${JSON.stringify(key)} is registered`);
      await changed();
      return updated;
    },

    async remove(url, options) {
      const { url: key } = await requireResource(url);
      const outcome = await revocation.removeResource(key, options);
      if (!outcome.dryRun) await changed();
      return outcome;
    },
  };
}

/** A resource as both surfaces print it (snake_case, like the OAuth metadata it feeds). */
export function resourceJson(resource: StoredResource): Record<string, unknown> {
  return {
    resource: resource.url,
    name: resource.name,
    scopes: resource.scopes,
    access_token_ttl: resource.accessTokenTtl ?? null,
    created_at: resource.createdAt.toISOString(),
    updated_at: resource.updatedAt.toISOString(),
  };
}
