// The SQL of the resource registry (table resources). Every write announces itself on
// RESOURCES_CHANNEL (delivered at commit) so other processes refresh what they cache.
import type { Knex } from 'knex';
import type { Database } from '../db/connect.ts';
import { takePrimed } from './request_scope.ts';

export const RESOURCES_CHANNEL = 'portcullis_resources';

export interface ResourceScope {
  name: string;
  description: string;
}

export interface StoredResource {
  /** The token audience and RFC 8707 indicator, normalized (src/resources/resource_definition.ts). */
  url: string;
  name: string;
  scopes: ResourceScope[];
  /** Seconds; undefined: the server's ACCESS_TOKEN_TTL. */
  accessTokenTtl: number | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export interface ResourceChanges {
  name?: string | undefined;
  scopes?: ResourceScope[] | undefined;
  /** null clears a lifetime of its own. */
  accessTokenTtl?: number | null | undefined;
}

type Executor = Database | Knex.Transaction;

interface ResourceRow {
  url: string;
  name: string;
  scopes: ResourceScope[] | string;
  access_token_ttl: number | null;
  created_at: Date | string;
  updated_at: Date | string;
}

function fromRow(row: ResourceRow): StoredResource {
  return {
    url: row.url,
    name: row.name,
    scopes: typeof row.scopes === 'string' ? (JSON.parse(row.scopes) as ResourceScope[]) : row.scopes,
    accessTokenTtl: row.access_token_ttl ?? undefined,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

async function announce(db: Executor): Promise<void> {
  await db.raw(`notify ${RESOURCES_CHANNEL}`);
}

export async function listResources(db: Executor): Promise<StoredResource[]> {
  const rows: ResourceRow[] = await db('resources').select('*').orderBy('url');
  return rows.map(fromRow);
}

export async function findResource(db: Executor, url: string): Promise<StoredResource | undefined> {
  // Read ahead with this request's refresh token or code (request_scope.ts); a transaction reads its own.
  const primed = db.isTransaction ? undefined : (takePrimed('Resource', url)?.payload as ResourceRow | undefined);
  if (primed) return fromRow(primed);
  const row: ResourceRow | undefined = await db('resources').select('*').where({ url }).first();
  return row ? fromRow(row) : undefined;
}

/** Inserts the resource; false (nothing written) when its URL is registered already. */
export async function insertResource(
  db: Executor,
  resource: { url: string; name: string; scopes: ResourceScope[]; accessTokenTtl: number | undefined },
): Promise<boolean> {
  const rows = await db('resources')
    .insert({ url: resource.url, name: resource.name, scopes: JSON.stringify(resource.scopes), access_token_ttl: resource.accessTokenTtl ?? null })
    .onConflict('url')
    .ignore()
    .returning('url');
  if (rows.length > 0) await announce(db);
  return rows.length > 0;
}

/** Applies the changes given; undefined when no such resource. */
export async function updateResource(db: Executor, url: string, changes: ResourceChanges): Promise<StoredResource | undefined> {
  const values: Record<string, unknown> = { updated_at: db.fn.now() };
  if (changes.name !== undefined) values.name = changes.name;
  if (changes.scopes !== undefined) values.scopes = JSON.stringify(changes.scopes);
  if (changes.accessTokenTtl !== undefined) values.access_token_ttl = changes.accessTokenTtl;
  const rows: ResourceRow[] = await db('resources').where({ url }).update(values).returning('*');
  if (rows.length === 0) return undefined;
  await announce(db);
  return fromRow(rows[0]!);
}

/** Deletes the row (the revocation service does so with the grants for it); false when there was none. */
export async function deleteResourceRow(db: Executor, url: string): Promise<boolean> {
  const deleted = await db('resources').where({ url }).delete();
  if (deleted > 0) await announce(db);
  return deleted > 0;
}
