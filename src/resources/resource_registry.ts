// The registry of protected resources as the running server reads it.
// - Decisions read the database each time: which resource an indicator names (token issuance), the
//   default resource, the consent page's and account pages' texts. One primary-key select on a table
//   of a few rows (measured: see docs/resources.md), and a resource removed by another process is
//   refused at once, with no window in which a stale cache still issues tokens for it.
// - The provider's supported-scope list (DCR's `scope` check, discovery's scopes_supported) must be
//   at hand synchronously, so it is a snapshot: reloaded when another process announces a change
//   (PostgreSQL LISTEN/NOTIFY, src/db/notifications.ts), when listening is (re-)established, every
//   POLL_SECONDS as a fallback (a pooler that cannot deliver notifications), and right after a
//   change made through this process.
import type { Database } from '../db/connect.ts';
import { listenForNotifications } from '../db/notifications.ts';
import type { Logger } from '../logger.ts';
import { findResource, listResources, RESOURCES_CHANNEL, type StoredResource } from '../storage/resource_store.ts';
import { resourceKey } from './resource_definition.ts';

const POLL_SECONDS = 30;

/** The registered resource an RFC 8707 indicator names (undefined: none); read from the database. */
export async function findRegisteredResource(db: Database, indicator: string): Promise<StoredResource | undefined> {
  const key = resourceKey(indicator);
  return key === undefined ? undefined : findResource(db, key);
}

/** Every registered resource, read from the database. */
export function registeredResources(db: Database): Promise<StoredResource[]> {
  return listResources(db);
}

export interface ResourceRegistry {
  /** The registered resource an RFC 8707 indicator names (undefined: none). */
  find(indicator: string): Promise<StoredResource | undefined>;
  list(): Promise<StoredResource[]>;
  /** The registered scope names of the last snapshot. */
  scopeNames(): string[];
  /** Reloads the snapshot now (after a change this process made); resolves when done. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The registry as a provider that only reads stored models needs it (the standalone MCP server, the
 * kit's database mode): it issues no token, so it offers no scopes (src/provider/registered_scopes.ts
 * acceptStoredClientScopes), and reads resources from the database when asked.
 */
export function storedResources(db: Database): Pick<ResourceRegistry, 'find' | 'list' | 'scopeNames'> {
  return { find: (indicator) => findRegisteredResource(db, indicator), list: () => registeredResources(db), scopeNames: () => [] };
}

export interface ResourceRegistryOptions {
  db: Database;
  logger: Logger;
  /** Called with each snapshot that differs from the one before (and with the first). */
  onSnapshot?: (resources: StoredResource[]) => void;
}

export async function openResourceRegistry({ db, logger, onSnapshot }: ResourceRegistryOptions): Promise<ResourceRegistry> {
  let snapshot: StoredResource[] = [];
  let serialized: string | undefined;
  let running: Promise<void> | undefined;

  async function reload(): Promise<void> {
    const resources = await listResources(db);
    const next = JSON.stringify(resources.map(({ url, scopes }) => ({ url, scopes })));
    snapshot = resources;
    if (next === serialized) return;
    serialized = next;
    onSnapshot?.(resources);
  }

  function refresh(): Promise<void> {
    running ??= reload().finally(() => {
      running = undefined;
    });
    return running;
  }

  /** Background reloads: a failure keeps the snapshot before and is logged; the next one retries. */
  function refreshQuietly(): void {
    refresh().catch((error: unknown) => logger.warn({ err: error }, 'resource registry reload failed; keeping the scopes loaded before'));
  }

  await refresh();
  // The embedded database has one process: changes reach it through refresh().
  const listener =
    db.client.config.client === 'pg'
      ? listenForNotifications({ db, logger, channel: RESOURCES_CHANNEL, onNotification: refreshQuietly, onListening: refreshQuietly })
      : undefined;
  const timer = db.client.config.client === 'pg' ? setInterval(refreshQuietly, POLL_SECONDS * 1000).unref() : undefined;

  return {
    find: (indicator) => findRegisteredResource(db, indicator),
    list: () => registeredResources(db),
    scopeNames: () => [...new Set(snapshot.flatMap((resource) => resource.scopes.map((scope) => scope.name)))],
    refresh,
    async stop() {
      clearInterval(timer);
      await listener?.close();
      await running?.catch(() => undefined);
    },
  };
}
