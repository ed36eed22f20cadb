// The storage of node-oidc-provider's models: one instance per model name, all backed by PostgreSQL
// via Knex. Contract: node-oidc-provider's example/my_adapter.js, with these additions:
// - bearer values (tokens, codes, session and interaction ids) are stored under their SHA-256 only;
// - consume is atomic: of concurrent consumers one wins, the others get ConsumedAlready.
// Storage only: what the library's destroy and revokeByGrantId calls mean (a revocation, with its
// actor and cascade) is decided once above it, in provider/library_revocations.ts.
import type { Knex } from 'knex';
import { errors, type AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import type { PayloadCodec } from '../secrets/client_secrets.ts';
import { deferConsume, inRequestScope, prime, scopeReadsAccount, takeDeferredConsume, takePrimed, type DeferredConsume } from '../storage/request_scope.ts';
import { findTokenByHash } from '../storage/revocation_store.ts';
import { locationOf, type ModelLocation, TABLES } from '../storage/table_map.ts';
import { hashTokenValue } from '../storage/token_hash.ts';

const FOREIGN_KEY_VIOLATION = '23503';
/** Raised by the oidc_grants trigger when a write targets a revoked grant. */
const GRANT_REVOKED = 'P0R01';

export interface AdapterOptions {
  /** The provider's clock tolerance in seconds: rows stay findable that long past their expiry. */
  clockTolerance: number;
  /** How Client payloads are stored (their secret encrypted or hashed: src/secrets/client_secrets.ts). */
  clientCodec: PayloadCodec;
}

/** A second consume of a code or refresh token (of concurrent consumers, a loser): `grantId` is its grant. */
export class ConsumedAlready extends errors.InvalidGrant {
  readonly grantId: string | undefined;

  constructor(grantId: string | undefined, what: string) {
    super(`${what} already used`);
    this.grantId = grantId;
  }
}

interface StoredRow {
  payload: AdapterPayload;
}

// The statements of the hot paths (a token request, a verification) have fixed text: built with the
// query builder, knex's compile work was a fifth of a validation's CPU. Each keeps the expiry rule of
// #notExpired (`expires_at` null or after the cutoff) on every row it reads.

// The rows read ahead are scalar subqueries, not joins: the planner's join-order search for five
// left-joined tables cost about 0.3-0.6 ms of PostgreSQL CPU per statement, three times the
// subqueries' (EXPLAIN's planning time); each key is unique, so the answers are the same.

/** A token's account as its store reads it (a row of `accounts`), for the finds that follow. */
const ACCOUNT_READ = `(select to_jsonb(a) from ${TABLES.accounts} a where a.id = t.account_id) as account`;

/**
 * An access token's read within a request scope (request_scope.ts), with its grant, client and disabled
 * mark, and its account when the request reads it. Bindings: cutoff (grant), cutoff (client), id hash,
 * model, cutoff (token).
 */
function accessTokenPrimingSql(withAccount: boolean): string {
  return `select t.payload, t.grant_id as "grantId", t.client_id as "clientId",
    (select g.payload from ${TABLES.grants} g where g.id = t.grant_id and (g.expires_at is null or g.expires_at > ?)) as "grant",
    (select c.payload from ${TABLES.models} c where c.model = 'Client' and c.id = t.client_id and (c.expires_at is null or c.expires_at > ?)) as client,
    exists (select 1 from ${TABLES.disabledClients} d where d.client_id = t.client_id) as "clientDisabled"${withAccount ? `,
    ${ACCOUNT_READ}` : ''}
  from ${TABLES.tokens} t
  where t.id_hash = ? and t.model = ? and (t.expires_at is null or t.expires_at > ?)`;
}
const ACCESS_TOKEN_PRIMING_SQL = accessTokenPrimingSql(false);
const ACCESS_TOKEN_WITH_ACCOUNT_PRIMING_SQL = accessTokenPrimingSql(true);

/**
 * A refresh token's or code's read within a request scope, with what the token request reads next:
 * its grant, its account and the resource it was issued for (the client was read first, to
 * authenticate it). Bindings: cutoff (grant), id hash, model, cutoff (token).
 */
const GRANT_SOURCE_PRIMING_SQL = `select t.payload, t.grant_id as "grantId",
    (select g.payload from ${TABLES.grants} g where g.id = t.grant_id and (g.expires_at is null or g.expires_at > ?)) as "grant",
    ${ACCOUNT_READ},
    (select to_jsonb(r) from ${TABLES.resources} r where r.url = t.payload->>'resource') as resource
  from ${TABLES.tokens} t
  where t.id_hash = ? and t.model = ? and (t.expires_at is null or t.expires_at > ?)`;

/** A stored client with its disabled mark. Bindings: client id (disabled), client id, cutoff. */
const CLIENT_SQL = `select payload, exists (select 1 from ${TABLES.disabledClients} where client_id = ?) as disabled
  from ${TABLES.models} where model = 'Client' and id = ? and (expires_at is null or expires_at > ?)`;

const TOKEN_COLUMNS = 'id_hash, model, grant_id, client_id, account_id, session_uid, payload, expires_at';
const TOKEN_MERGE = `on conflict (id_hash) do update set grant_id = excluded.grant_id, client_id = excluded.client_id,
    account_id = excluded.account_id, session_uid = excluded.session_uid, payload = excluded.payload, expires_at = excluded.expires_at`;

/** A token's insert (or replacement). Bindings: the TOKEN_COLUMNS in order. */
const UPSERT_TOKEN_SQL = `insert into ${TABLES.tokens} (${TOKEN_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?) ${TOKEN_MERGE}`;

/**
 * A deferred consume with the insert of the first token issued for it: both or neither. The grant is
 * locked (key share) before the consumed token's row: a revocation locks grants before their tokens,
 * so the two take their locks in one order and never deadlock. Bindings: grant id; consumed at,
 * consumed epoch, consumed key; the TOKEN_COLUMNS of the new token.
 */
const CONSUME_AND_INSERT_SQL = `with live_grant as (
    select id from ${TABLES.grants} where id = ? for key share
  ), consumed as (
    update ${TABLES.tokens} set consumed_at = ?, payload = payload || jsonb_build_object('consumed', ?::bigint)
    where id_hash = ? and consumed_at is null and grant_id = (select id from live_grant)
    returning id_hash
  ), inserted as (
    insert into ${TABLES.tokens} (${TOKEN_COLUMNS})
    select ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::jsonb, ?::timestamptz from consumed
    ${TOKEN_MERGE}
  )
  select exists (select 1 from live_grant) as "grantLive", exists (select 1 from consumed) as consumed`;

/** A token's row with the rows read ahead with it (null: none, or expired). */
interface PrimingRow extends StoredRow {
  grantId: string | null;
  clientId?: string | null;
  grant: AdapterPayload | null;
  client?: AdapterPayload | null;
  clientDisabled?: boolean;
  account?: (AdapterPayload & { id: string }) | null;
  resource?: (AdapterPayload & { url: string }) | null;
}

/**
 * Primes what a token's read returned with it: its grant (absent is an answer too); its account and
 * resource only when found (a miss is left to their own finds).
 */
function primeFound(row: PrimingRow): void {
  if (row.grantId) prime('Grant', row.grantId, { payload: row.grant ?? undefined });
  if (row.account) prime('Account', row.account.id, { payload: row.account });
  if (row.resource) prime('Resource', row.resource.url, { payload: row.resource });
}

/** Models whose consume at /token waits for the first token issued for them (request_scope.ts). */
const GRANT_SOURCES: ReadonlySet<string> = new Set(['RefreshToken', 'AuthorizationCode']);

function expiryDate(expiresIn: number | undefined): Date | null {
  return typeof expiresIn === 'number' ? new Date(Date.now() + expiresIn * 1000) : null;
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

export class KnexAdapter {
  readonly name: string;
  readonly #db: Database;
  readonly #options: AdapterOptions;
  readonly #location: ModelLocation;
  readonly #hashed: boolean;

  constructor(db: Database, name: string, options: AdapterOptions) {
    this.#db = db;
    this.name = name;
    this.#options = options;
    this.#location = locationOf(name);
    this.#hashed = this.#location.hashed;
  }

  #key(id: string): string {
    return this.#hashed ? hashTokenValue(id) : id;
  }

  /** Rows expiring before this are gone (the clock tolerance past their expiry). */
  #cutoff(): Date {
    return new Date(Date.now() - this.#options.clockTolerance * 1000);
  }

  #notExpired(query: Knex.QueryBuilder): Knex.QueryBuilder {
    const cutoff = this.#cutoff();
    return query.where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', cutoff));
  }

  /** What is written: the payload without the presentable id (or any copy of a cookie value). */
  #storedPayload(id: string, payload: AdapterPayload): string {
    const stored: Record<string, unknown> = { ...payload };
    if (!this.#hashed) return JSON.stringify(stored);
    delete stored.jti;
    if (this.name === 'Interaction' && stored.session && typeof stored.session === 'object') {
      // The library copies the session cookie value here but never reads it back.
      const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
      stored.session = session;
    }
    // The known copies of the id are cut out too; a copy elsewhere (a new library version) would be
    // stored, and the database dump of test/e2e/secrets_at_rest.test.ts fails on it.
    const places: IdPlace[] = [];
    for (const field of ID_COPIES[this.name] ?? []) {
      const value = stored[field];
      if (typeof value !== 'string' || !value.includes(id)) continue;
      places.push({ path: [field], parts: value.split(id) });
      stored[field] = null;
    }
    if (places.length > 0) stored[ID_PLACES] = places;
    return JSON.stringify(stored);
  }

  #restore(row: StoredRow | undefined, id: string | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    if (this.name === 'Client' && id !== undefined) return this.#options.clientCodec.decode(id, withoutIdPlaces(row.payload));
    if (!this.#hashed || id === undefined) return withoutIdPlaces(row.payload);
    return { ...pasteId(row.payload, id), jti: id };
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const expiresAt = expiryDate(expiresIn);
    if (this.#location.table === TABLES.grants) return this.#upsertGrant(id, payload, expiresAt);
    if (this.#location.table === TABLES.tokens) return this.#upsertToken(id, payload, expiresAt);
    await this.#db(TABLES.models)
      .insert({
        model: this.name,
        id: this.#key(id),
        uid: payload.uid ?? null,
        client_id: this.name === 'Client' ? id : (payload.clientId ?? null),
        account_id: payload.accountId ?? null,
        payload: this.#storedPayload(id, this.name === 'Client' ? this.#options.clientCodec.encode(id, payload) : payload),
        expires_at: expiresAt,
        updated_at: new Date(),
      })
      .onConflict(['model', 'id'])
      .merge(['uid', 'client_id', 'account_id', 'payload', 'expires_at', 'updated_at']);
  }

  async #upsertGrant(id: string, payload: AdapterPayload, expiresAt: Date | null): Promise<void> {
    try {
      await this.#db(TABLES.grants)
        .insert({
          id,
          client_id: payload.clientId ?? '',
          account_id: payload.accountId ?? '',
          payload: this.#storedPayload(id, payload),
          expires_at: expiresAt,
          updated_at: new Date(),
        })
        .onConflict('id')
        .merge(['payload', 'expires_at', 'updated_at']);
    } catch (error) {
      // A revoked grant stays revoked (tombstone trigger, see the migration).
      if (hasCode(error, GRANT_REVOKED)) throw new errors.InvalidGrant('grant has been revoked');
      throw error;
    }
  }

  async #upsertToken(id: string, payload: AdapterPayload, expiresAt: Date | null): Promise<void> {
    const columns: Knex.Value[] = [
      this.#key(id),
      this.name,
      payload.grantId ?? null,
      payload.clientId ?? null,
      payload.accountId ?? null,
      payload.sessionUid ?? null,
      this.#storedPayload(id, payload),
      expiresAt,
    ];
    const consume = takeDeferredConsume();
    if (consume) {
      if (payload.grantId) return this.#consumeAndInsert(consume, payload.grantId, columns);
      await this.#consumeNow(consume.model, consume.key);
    }
    try {
      await this.#db.raw(UPSERT_TOKEN_SQL, columns);
    } catch (error) {
      // The grant was revoked while this token was being minted: the token must not exist.
      if (hasCode(error, FOREIGN_KEY_VIOLATION)) throw new errors.InvalidGrant('grant has been revoked');
      throw error;
    }
  }

  /** A deferred consume and the insert of the token issued for it, in one statement (CONSUME_AND_INSERT_SQL). */
  async #consumeAndInsert(consume: DeferredConsume, grantId: string, columns: Knex.Value[]): Promise<void> {
    const result = await this.#db.raw<{ rows: { grantLive: boolean; consumed: boolean }[] }>(CONSUME_AND_INSERT_SQL, [
      grantId,
      new Date(),
      epochNow(),
      consume.key,
      ...columns,
    ]);
    const { grantLive, consumed } = result.rows[0]!;
    if (!grantLive) throw new errors.InvalidGrant('grant has been revoked');
    // Someone else consumed it first (or it was revoked).
    if (!consumed) throw new ConsumedAlready(grantId, consumedWhat(consume.model));
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const primed = takePrimed(this.name, id);
    if (primed) return primed.disabled ? undefined : this.#restore(primed.payload && { payload: primed.payload }, id);
    if (inRequestScope()) {
      if (this.name === 'AccessToken') return this.#findAccessTokenPriming(id);
      if (GRANT_SOURCES.has(this.name)) return this.#findGrantSourcePriming(id);
    }
    if (this.name === 'Client') return this.#findClient(id);
    const row = await this.#notExpired(this.#select().where(this.#keyColumn(), this.#key(id))).first();
    return this.#restore(row, id);
  }

  /**
   * A stored client read with its disabled mark in one statement: a disabled client is not found.
   * (The rule, and its check for clients never stored, is provider/disabled_clients.ts.)
   */
  async #findClient(id: string): Promise<AdapterPayload | undefined> {
    const result = await this.#db.raw<{ rows: (StoredRow & { disabled: boolean })[] }>(CLIENT_SQL, [id, id, this.#cutoff()]);
    const row = result.rows[0];
    return row?.disabled ? undefined : this.#restore(row, id);
  }

  /**
   * An access token read with its grant, its client and the client's disabled mark in one statement
   * (request_scope.ts): each row read ahead under the same rules as its own find, so the primed answers
   * are the ones a find gives.
   */
  async #findAccessTokenPriming(id: string): Promise<AdapterPayload | undefined> {
    const cutoff = this.#cutoff();
    const sql = scopeReadsAccount() ? ACCESS_TOKEN_WITH_ACCOUNT_PRIMING_SQL : ACCESS_TOKEN_PRIMING_SQL;
    const result = await this.#db.raw<{ rows: PrimingRow[] }>(sql, [cutoff, cutoff, this.#key(id), this.name, cutoff]);
    const row = result.rows[0];
    if (!row) return undefined;
    primeFound(row);
    if (row.clientId) prime('Client', row.clientId, { payload: row.client ?? undefined, disabled: row.clientDisabled });
    return this.#restore(row, id);
  }

  /** A refresh token or code read with its grant, account and resource in one statement. */
  async #findGrantSourcePriming(id: string): Promise<AdapterPayload | undefined> {
    const cutoff = this.#cutoff();
    const result = await this.#db.raw<{ rows: PrimingRow[] }>(GRANT_SOURCE_PRIMING_SQL, [cutoff, this.#key(id), this.name, cutoff]);
    const row = result.rows[0];
    if (!row) return undefined;
    primeFound(row);
    return this.#restore(row, id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    // Read-only use by the library (session binding checks), so no id is restored.
    const row = await this.#notExpired(this.#select().where({ uid })).first();
    return this.#restore(row, undefined);
  }

  async consume(id: string): Promise<void> {
    if (this.#location.table !== TABLES.tokens) {
      await this.#db(TABLES.models)
        .where({ model: this.name, id: this.#key(id) })
        .update({ payload: this.#db.raw("payload || jsonb_build_object('consumed', ?::bigint)", [epochNow()]) });
      return;
    }
    const key = this.#key(id);
    if (GRANT_SOURCES.has(this.name) && deferConsume({ model: this.name, key })) return;
    await this.#consumeNow(this.name, key);
  }

  async #consumeNow(model: string, key: string): Promise<void> {
    const won = await this.#db(TABLES.tokens)
      .where({ id_hash: key })
      .whereNull('consumed_at')
      .update({
        consumed_at: new Date(),
        payload: this.#db.raw("payload || jsonb_build_object('consumed', ?::bigint)", [epochNow()]),
      })
      .returning('id_hash');
    if (won.length > 0) return;
    // Someone else consumed it first (or it was revoked).
    const lost = await findTokenByHash(this.#db, key);
    throw new ConsumedAlready(lost?.grantId ?? undefined, consumedWhat(model));
  }

  /** The grant a stored token belongs to (undefined: no such token, or one bound to no grant). */
  async grantIdOf(id: string): Promise<string | undefined> {
    return (await findTokenByHash(this.#db, this.#key(id)))?.grantId ?? undefined;
  }

  /** Deletes the row (a Grant's tokens go with it by foreign key; revocations go through the service). */
  async destroy(id: string): Promise<void> {
    await this.#table().where(this.#keyColumn(), this.#key(id)).delete();
  }

  #table(): Knex.QueryBuilder {
    const { table, sharedByModels } = this.#location;
    return sharedByModels ? this.#db(table).where({ model: this.name }) : this.#db(table);
  }

  #keyColumn(): string {
    return this.#location.key;
  }

  #select(): Knex.QueryBuilder {
    return this.#table().select('payload');
  }
}

/**
 * Where the library copies a bearer model's id inside its payload: an Interaction's returnTo is the
 * URL that resumes it (lib/actions/authorization/interactions.js), ending with its uid, which is its id.
 */
const ID_COPIES: Partial<Record<string, string[]>> = { Interaction: ['returnTo'] };

/** Where a stored payload had its id cut out of a string: the path to it and the pieces around the id. */
interface IdPlace {
  path: (string | number)[];
  parts: string[];
}

/** Top-level key of the stored payload listing the places (absent when the id appeared nowhere). */
const ID_PLACES = '$idPlaces';

/** The stored payload with the id put back where #storedPayload took it out. */
function pasteId(payload: AdapterPayload, id: string): AdapterPayload {
  const places = (payload as Record<string, unknown>)[ID_PLACES] as IdPlace[] | undefined;
  const restored = withoutIdPlaces(payload);
  for (const { path, parts } of places ?? []) {
    let parent = restored as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[path.at(-1)!] = parts.join(id);
  }
  return restored;
}

function withoutIdPlaces(payload: AdapterPayload): AdapterPayload {
  if (!(ID_PLACES in payload)) return payload;
  const { [ID_PLACES]: _places, ...rest } = payload as Record<string, unknown>;
  return rest as AdapterPayload;
}

function consumedWhat(model: string): string {
  return model === 'RefreshToken' ? 'refresh token' : 'grant';
}

function epochNow(): number {
  return Math.floor(Date.now() / 1000);
}

export function createStorageFactory(db: Database, options: AdapterOptions): (name: string) => KnexAdapter {
  return (name: string) => new KnexAdapter(db, name, options);
}
