// The SQL of revocation, set-based: one statement removes the grants a filter selects, records their
// tombstones and deletes every token that belonged to them. The adapter (library paths) and the
// revocation service (operators, users) both revoke through here, so their cascades agree.
import type { Knex } from 'knex';
import { BATCH_SIZE } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { TABLES } from './table_map.ts';

export type RevocationCounts = Record<string, number>;

export interface GrantFilter {
  grantIds?: string[];
  clientId?: string;
  accountIds?: string[];
  /** Grants holding scopes for this resource (a normalized URL; keys compare without a trailing slash). */
  resource?: string;
}

/** How long a tombstone outlives a grant that had no expiry of its own. */
const TOMBSTONE_FALLBACK_SECONDS = 366 * 24 * 60 * 60;

function grantWhere(filter: GrantFilter): { sql: string; bindings: Knex.RawBinding[] } {
  const clauses: string[] = [];
  const bindings: Knex.RawBinding[] = [];
  if (filter.grantIds) {
    clauses.push('id = any(?)');
    bindings.push(filter.grantIds);
  }
  if (filter.clientId !== undefined) {
    clauses.push('client_id = ?');
    bindings.push(filter.clientId);
  }
  if (filter.accountIds) {
    clauses.push('account_id = any(?)');
    bindings.push(filter.accountIds);
  }
  if (filter.resource !== undefined) {
    clauses.push(`exists (select 1 from jsonb_object_keys(coalesce(payload->'resources', '{}'::jsonb)) as granted(url) where rtrim(granted.url, '/') = ?)`);
    bindings.push(filter.resource);
  }
  if (clauses.length === 0) throw new Error('refusing to revoke grants without a filter');
  return { sql: clauses.join(' and '), bindings };
}

function addCounts(into: RevocationCounts, rows: { model: string; count: string | number }[]): RevocationCounts {
  for (const row of rows) into[row.model] = (into[row.model] ?? 0) + Number(row.count);
  return into;
}

export interface BatchOptions {
  /** Grants per statement: bounds the work and locks of each step of a large revocation. */
  batchSize?: number;
  /** Called after each batch with the grants revoked so far and the total selected at the start. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Deletes the selected grants and all their tokens, leaving a tombstone per grant, in batches of
 * set-based statements inside the caller's transaction. Returns counts keyed by the provider's model
 * names (Grant, AccessToken, RefreshToken, ...).
 */
export async function revokeGrants(db: Executor, filter: GrantFilter, options: BatchOptions = {}): Promise<RevocationCounts> {
  const where = grantWhere(filter);
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const total = options.onProgress
    ? Number((await db.raw(`select count(*) as count from ${TABLES.grants} where ${where.sql}`, where.bindings)).rows[0].count)
    : 0;
  const counts: RevocationCounts = {};
  // The deletes look their rows up by index from an array of the batch's ids: joined to the batch
  // instead, the planner hashed the whole of oidc_tokens and oidc_grants for every batch, so a
  // revocation grew with the square of its size (docs/performance.md).
  // Keyset batches: each starts after the previous one's last id, so rows this transaction already
  // deleted (still in the index until it commits) are not walked again and again. One last pass from
  // the start catches grants committed meanwhile behind the cursor (ids are random).
  let after = '';
  let finalPass = false;
  for (;;) {
    const result = await db.raw<{ rows: { model: string; count: string }[] }>(
      `with target as (
         select id, expires_at from ${TABLES.grants} where ${where.sql} and id > ? order by id limit ${batchSize} for update
       ), tombstones as (
         insert into ${TABLES.revokedGrants} (grant_id, revoked_at, expires_at)
         select id, now(), coalesce(expires_at, now() + make_interval(secs => ?)) from target
         on conflict (grant_id) do nothing
       ), tokens as (
         delete from ${TABLES.tokens} where grant_id = any(array(select id from target)) returning model
       ), grants as (
         delete from ${TABLES.grants} where id = any(array(select id from target)) returning id
       )
       select model, count(*)::text as count from tokens group by model
       union all
       select 'Grant' as model, count(*)::text as count from grants
       union all
       select '$last' as model, max(id) as count from target`,
      [...where.bindings, after, TOMBSTONE_FALLBACK_SECONDS],
    );
    after = result.rows.find((row) => row.model === '$last')?.count ?? after;
    addCounts(counts, result.rows.filter((row) => row.model !== '$last' && Number(row.count) > 0));
    const grantsInBatch = Number(result.rows.find((row) => row.model === 'Grant')?.count ?? 0);
    options.onProgress?.(counts.Grant ?? 0, Math.max(total, counts.Grant ?? 0));
    if (grantsInBatch < batchSize) {
      // Explicit ids cannot appear behind the cursor: no second pass for them.
      if (finalPass || after === '' || filter.grantIds) return counts;
      finalPass = true;
      after = '';
    }
  }
}

export type Executor = Database | Knex.Transaction;

export interface StoredTokenRef {
  model: string;
  grantId: string | null;
  clientId: string | null;
  accountId: string | null;
}

export async function findTokenByHash(db: Executor, idHash: string): Promise<StoredTokenRef | undefined> {
  const row = await db(TABLES.tokens)
    .select('model', 'grant_id', 'client_id', 'account_id')
    .where({ id_hash: idHash })
    .first();
  return row ? { model: row.model, grantId: row.grant_id, clientId: row.client_id, accountId: row.account_id } : undefined;
}

/** Deletes one token that belongs to no grant (client-credentials tokens). */
export async function deleteTokenByHash(db: Executor, idHash: string): Promise<RevocationCounts> {
  const rows = await db(TABLES.tokens).where({ id_hash: idHash }).delete().returning('model');
  return addCounts({}, tally(rows.map((row: { model: string }) => row.model)));
}

/** Deletes a client's tokens that belong to no grant (client credentials). */
export async function deleteGrantlessTokens(db: Executor, clientId: string): Promise<RevocationCounts> {
  const rows = await db(TABLES.tokens).where({ client_id: clientId }).whereNull('grant_id').delete().returning('model');
  return addCounts({}, tally(rows.map((row: { model: string }) => row.model)));
}

/** Signs an account out everywhere: its browser sessions are deleted. */
export async function endAccountSessions(db: Executor, accountId: string): Promise<RevocationCounts> {
  const rows = await db(TABLES.models).where({ model: 'Session', account_id: accountId }).delete().returning('model');
  return addCounts({}, tally(rows.map((row: { model: string }) => row.model)));
}

/**
 * Everything the provider still holds for an account once its grants are revoked: sessions,
 * interactions and any token not bound to a grant.
 */
export async function deleteAccountRecords(db: Executor, accountId: string): Promise<RevocationCounts> {
  const tokens = await db(TABLES.tokens).where({ account_id: accountId }).delete().returning('model');
  const models = await db(TABLES.models).where({ account_id: accountId }).delete().returning('model');
  return addCounts({}, tally([...tokens, ...models].map((row: { model: string }) => row.model)));
}

/** Removes a client and everything issued to it: grants, grant-less tokens, registration tokens. */
export async function deleteClientData(db: Executor, clientId: string, options: BatchOptions = {}): Promise<RevocationCounts> {
  const counts = await revokeGrants(db, { clientId }, options);
  const tokens = await db(TABLES.tokens).where({ client_id: clientId }).delete().returning('model');
  const models = await db(TABLES.models).where({ client_id: clientId }).delete().returning('model');
  await db('disabled_clients').where({ client_id: clientId }).delete();
  return addCounts(counts, tally([...tokens, ...models].map((row: { model: string }) => row.model)));
}

export function mergeCounts(...all: RevocationCounts[]): RevocationCounts {
  const merged: RevocationCounts = {};
  for (const counts of all) addCounts(merged, Object.entries(counts).map(([model, count]) => ({ model, count })));
  return merged;
}

function tally(models: string[]): { model: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const model of models) counts.set(model, (counts.get(model) ?? 0) + 1);
  return [...counts].map(([model, count]) => ({ model, count }));
}
