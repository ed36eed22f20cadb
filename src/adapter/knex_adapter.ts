// The node-oidc-provider adapter: one instance per model name, all backed by PostgreSQL via Knex.
// Contract: node-oidc-provider's example/my_adapter.js, with these additions:
// - bearer values (tokens, codes, session and interaction ids) are stored under their SHA-256 only;
// - consume is atomic: of concurrent consumers one wins, the others revoke the grant (reuse);
// - destroying a Grant or a Client cascades to everything issued under it (revocation_store).
import type { Knex } from 'knex';
import Provider, { errors, type Adapter, type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import type { PayloadCodec } from '../secrets/client_secrets.ts';
import type { Actor, RevocationOptions, RevocationService } from '../revocation/revocation_service.ts';
import { findTokenByHash } from '../storage/revocation_store.ts';
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
/** Raised by the oidc_grants trigger when a write targets a revoked grant. */
const GRANT_REVOKED = 'P0R01';

export interface AdapterOptions {
  /** The provider's clock tolerance in seconds: rows stay findable that long past their expiry. */
  clockTolerance: number;
  revocation: RevocationService;
  /** How Client payloads are stored (their secret encrypted or hashed: src/secrets/client_secrets.ts). */
  clientCodec: PayloadCodec;
}

/** Who is revoking, judged from the provider request in progress (none: a script calling the API). */
function providerRequest(): KoaContextWithOIDC | undefined {
  return (Provider as unknown as { ctx?: KoaContextWithOIDC }).ctx;
}

function libraryRevocation(reason: string): RevocationOptions {
  const ctx = providerRequest();
  const route = ctx?.oidc?.route;
  const clientId = ctx?.oidc?.client?.clientId;
  let actor: Actor;
  let why: string;
  if (!ctx) {
    actor = { type: 'operator', id: 'provider-api' };
    why = `${reason} (provider API outside a request)`;
  } else if (route === 'revocation') {
    actor = { type: 'client', id: clientId };
    why = 'RFC 7009 revocation request';
  } else if (route === 'client_delete') {
    actor = { type: 'client', id: clientId };
    why = 'client deleted its registration (RFC 7592)';
  } else if (route === 'token') {
    actor = { type: 'system' };
    why = 'reuse of a consumed code or refresh token';
  } else {
    actor = { type: 'system' };
    why = `${reason} (${route ?? 'provider'})`;
  }
  return { actor, reason: why, auditWhenEmpty: false };
}

interface StoredRow {
  payload: AdapterPayload;
}

function expiryDate(expiresIn: number | undefined): Date | null {
  return typeof expiresIn === 'number' ? new Date(Date.now() + expiresIn * 1000) : null;
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
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
  #storedPayload(id: string, payload: AdapterPayload): string {
    let stored: Record<string, unknown> = { ...payload };
    if (!this.#hashed) return JSON.stringify(stored);
    delete stored.jti;
    if (this.name === 'Interaction' && stored.session && typeof stored.session === 'object') {
      // The library copies the session cookie value here but never reads it back.
      const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
      stored.session = session;
    }
    // Copies of the id elsewhere (an Interaction's returnTo URL ends with it) are cut out too.
    const places: IdPlace[] = [];
    stored = cutId(stored, id, [], places) as Record<string, unknown>;
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
    if (this.name === 'Grant') return this.#upsertGrant(id, payload, expiresAt);
    if (TOKEN_MODELS.has(this.name)) return this.#upsertToken(id, payload, expiresAt);
    await this.#db('oidc_models')
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
      await this.#db('oidc_grants')
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
          payload: this.#storedPayload(id, payload),
          expires_at: expiresAt,
        })
        .onConflict('id_hash')
        .merge(['grant_id', 'client_id', 'account_id', 'session_uid', 'user_code_hash', 'payload', 'expires_at']);
    } catch (error) {
      // The grant was revoked while this token was being minted: the token must not exist.
      if (hasCode(error, FOREIGN_KEY_VIOLATION)) throw new errors.InvalidGrant('grant has been revoked');
      throw error;
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    // (A disabled client is refused above the adapter, for every kind of client: provider/disabled_clients.ts.)
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
    const lost = await findTokenByHash(this.#db, key);
    if (lost?.grantId) await this.#options.revocation.revokeGrant(lost.grantId, libraryRevocation('reuse'));
    throw new errors.InvalidGrant(`${this.name === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
  }

  async destroy(id: string): Promise<void> {
    const { revocation } = this.#options;
    if (this.name === 'Grant') {
      await revocation.revokeGrant(id, libraryRevocation('grant destroyed'));
    } else if (this.name === 'Client') {
      await revocation.deleteClient(id, libraryRevocation('client destroyed'));
    } else if (TOKEN_MODELS.has(this.name)) {
      // The library destroys a token only to revoke it (/revoke, refresh reuse): its grant ends too.
      // At the token endpoint the event is reuse, so it is audited as the grant's revocation whichever
      // of the library's concurrent calls (this destroy, revokeByGrantId) gets there first.
      const options = libraryRevocation('token destroyed');
      const reuse = providerRequest()?.oidc?.route === 'token';
      const grantId = reuse ? (await findTokenByHash(this.#db, this.#key(id)))?.grantId : undefined;
      await (grantId ? revocation.revokeGrant(grantId, options) : revocation.revokeToken(id, options));
    } else {
      await this.#table().where(this.#keyColumn(), this.#key(id)).delete();
    }
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // Called once per grantable model for the same event; the first call removes the whole grant.
    if (!TOKEN_MODELS.has(this.name)) return;
    await this.#options.revocation.revokeGrant(grantId, libraryRevocation('grant revoked'));
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

/** Where a stored payload had its id cut out of a string: the path to it and the pieces around the id. */
interface IdPlace {
  path: (string | number)[];
  parts: string[];
}

/** Top-level key of the stored payload listing the places (absent when the id appeared nowhere). */
const ID_PLACES = '$idPlaces';

/** A copy of `value` with every string containing `id` replaced by null, recorded in `places`. */
function cutId(value: unknown, id: string, path: (string | number)[], places: IdPlace[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes(id)) return value;
    places.push({ path, parts: value.split(id) });
    return null;
  }
  if (Array.isArray(value)) return value.map((item, index) => cutId(item, id, [...path, index], places));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cutId(item, id, [...path, key], places)]));
  }
  return value;
}

/** The stored payload with the id put back where `cutId` took it out. */
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

function epochNow(): number {
  return Math.floor(Date.now() / 1000);
}

export function createAdapterFactory(db: Database, options: AdapterOptions): (name: string) => Adapter {
  return (name: string) => new KnexAdapter(db, name, options);
}
