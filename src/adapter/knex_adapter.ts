// The node-oidc-provider adapter: one instance per model name, all backed by PostgreSQL via Knex.
// Contract: node-oidc-provider's example/my_adapter.js, with these additions:
// - bearer values (tokens, codes, session and interaction ids) are stored under their SHA-256 only;
// - consume is atomic: of concurrent consumers one wins, the others revoke the grant (reuse);
// - destroying a Grant or a Client cascades to everything issued under it (revocation_store).
import type { Knex } from 'knex';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { deleteClientData, revokeGrants } from '../storage/revocation_store.ts';
import { hashTokenValue } from '../storage/token_hash.ts';

/** Models whose rows live in oidc_tokens and reference their grant. */
const TOKEN_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Models whose id is not a secret: kept in clear so operators can find them. */
const CLEAR_ID_MODELS = new Set(['Grant', 'Client']);

const FOREIGN_KEY_VIOLATION = '23503';

export interface AdapterOptions {
  /** The provider's clock tolerance in seconds: rows stay findable that long past their expiry. */
  clockTolerance: number;
}

interface StoredRow {
  payload: AdapterPayload;
}

function expiryDate(expiresIn: number | undefined): Date | null {
  return typeof expiresIn === 'number' ? new Date(Date.now() + expiresIn * 1000) : null;
}

function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION;
}

export class KnexAdapter implements Adapter {
  readonly name: string;
  readonly #db: Database;
  readonly #options: AdapterOptions;
  readonly #hashed: boolean;

  constructor(db: Database, name: string, options: AdapterOptions) {
    this.#db = db;
    this.name = name;
    this.#options = options;
    this.#hashed = !CLEAR_ID_MODELS.has(name);
  }

  #key(id: string): string {
    return this.#hashed ? hashTokenValue(id) : id;
  }

  #notExpired(query: Knex.QueryBuilder): Knex.QueryBuilder {
    const cutoff = new Date(Date.now() - this.#options.clockTolerance * 1000);
    return query.where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', cutoff));
  }

  /** What is written: the payload without the presentable id (or any copy of a cookie value). */
  #storedPayload(payload: AdapterPayload): string {
    const stored: Record<string, unknown> = { ...payload };
    if (this.#hashed) delete stored.jti;
    if (this.name === 'Interaction' && stored.session && typeof stored.session === 'object') {
      // The library copies the session cookie value here but never reads it back.
      const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
      stored.session = session;
    }
    return JSON.stringify(stored);
  }

  #restore(row: StoredRow | undefined, id: string | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    return this.#hashed && id !== undefined ? { ...row.payload, jti: id } : row.payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const expiresAt = expiryDate(expiresIn);
    if (this.name === 'Grant') return this.#upsertGrant(id, payload, expiresAt);
    if (TOKEN_MODELS.has(this.name)) return this.#upsertToken(id, payload, expiresAt);
    await this.#db('oidc_models')
      .insert({
        model: this.name,
        id: this.#key(id),
        uid: payload.uid ?? null,
        client_id: this.name === 'Client' ? id : (payload.clientId ?? null),
        account_id: payload.accountId ?? null,
        payload: this.#storedPayload(payload),
        expires_at: expiresAt,
        updated_at: new Date(),
      })
      .onConflict(['model', 'id'])
      .merge(['uid', 'client_id', 'account_id', 'payload', 'expires_at', 'updated_at']);
  }

  async #upsertGrant(id: string, payload: AdapterPayload, expiresAt: Date | null): Promise<void> {
    // A revoked grant stays revoked: the insert is skipped when its tombstone exists.
    const result = await this.#db.raw<{ rowCount: number | null; affectedRows?: number }>(
      `insert into oidc_grants (id, client_id, account_id, payload, expires_at, updated_at)
       select ?, ?, ?, ?::jsonb, ?, now()
       where not exists (select 1 from oidc_revoked_grants where grant_id = ?)
       on conflict (id) do update
         set payload = excluded.payload, expires_at = excluded.expires_at, updated_at = now()`,
      [id, payload.clientId ?? '', payload.accountId ?? '', this.#storedPayload(payload), expiresAt, id],
    );
    if (affected(result) === 0) throw new errors.InvalidGrant('grant has been revoked');
  }

  async #upsertToken(id: string, payload: AdapterPayload, expiresAt: Date | null): Promise<void> {
    try {
      await this.#db('oidc_tokens')
        .insert({
          id_hash: this.#key(id),
          model: this.name,
          grant_id: payload.grantId ?? null,
          client_id: payload.clientId ?? null,
          account_id: payload.accountId ?? null,
          session_uid: payload.sessionUid ?? null,
          user_code_hash: payload.userCode ? hashTokenValue(payload.userCode) : null,
          payload: this.#storedPayload(payload),
          expires_at: expiresAt,
        })
        .onConflict('id_hash')
        .merge(['grant_id', 'client_id', 'account_id', 'session_uid', 'user_code_hash', 'payload', 'expires_at']);
    } catch (error) {
      // The grant was revoked while this token was being minted: the token must not exist.
      if (isForeignKeyViolation(error)) throw new errors.InvalidGrant('grant has been revoked');
      throw error;
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const row = await this.#notExpired(this.#select().where(this.#keyColumn(), this.#key(id))).first();
    return this.#restore(row, id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    // Read-only use by the library (session binding checks), so no id is restored.
    const row = await this.#notExpired(this.#select().where({ uid })).first();
    return this.#restore(row, undefined);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const row = await this.#notExpired(
      this.#db('oidc_tokens').select('payload').where({ model: this.name, user_code_hash: hashTokenValue(userCode) }),
    ).first();
    return this.#restore(row, undefined);
  }

  async consume(id: string): Promise<void> {
    if (!TOKEN_MODELS.has(this.name)) {
      await this.#db('oidc_models')
        .where({ model: this.name, id: this.#key(id) })
        .update({ payload: this.#db.raw("payload || jsonb_build_object('consumed', ?::bigint)", [epochNow()]) });
      return;
    }
    const key = this.#key(id);
    const won = await this.#db('oidc_tokens')
      .where({ id_hash: key })
      .whereNull('consumed_at')
      .update({
        consumed_at: new Date(),
        payload: this.#db.raw("payload || jsonb_build_object('consumed', ?::bigint)", [epochNow()]),
      })
      .returning('id_hash');
    if (won.length > 0) return;
    // Someone else consumed it first (or it was revoked): treat as reuse and end the whole grant.
    const lost = await this.#db('oidc_tokens').select('grant_id').where({ id_hash: key }).first();
    if (lost?.grant_id) await revokeGrants(this.#db, { grantIds: [lost.grant_id] });
    throw new errors.InvalidGrant(`${this.name === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
  }

  async destroy(id: string): Promise<void> {
    if (this.name === 'Grant') {
      await revokeGrants(this.#db, { grantIds: [id] });
    } else if (this.name === 'Client') {
      await deleteClientData(this.#db, id);
    } else {
      await this.#table().where(this.#keyColumn(), this.#key(id)).delete();
    }
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (!TOKEN_MODELS.has(this.name)) return;
    await this.#db('oidc_tokens').where({ model: this.name, grant_id: grantId }).delete();
  }

  #table(): Knex.QueryBuilder {
    if (this.name === 'Grant') return this.#db('oidc_grants');
    if (TOKEN_MODELS.has(this.name)) return this.#db('oidc_tokens').where({ model: this.name });
    return this.#db('oidc_models').where({ model: this.name });
  }

  #keyColumn(): string {
    if (this.name === 'Grant') return 'id';
    return TOKEN_MODELS.has(this.name) ? 'id_hash' : 'id';
  }

  #select(): Knex.QueryBuilder {
    return this.#table().select('payload');
  }
}

function epochNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** Rows changed by a raw statement, across the pg and PGlite result shapes. */
function affected(result: { rowCount?: number | null; affectedRows?: number }): number {
  return result.rowCount ?? result.affectedRows ?? 0;
}

export function createAdapterFactory(db: Database, options: AdapterOptions): (name: string) => Adapter {
  return (name: string) => new KnexAdapter(db, name, options);
}
