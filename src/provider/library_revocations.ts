// The library's revocation events, translated in one place. node-oidc-provider revokes by calling its
// adapter: /revoke destroys the token then calls revokeByGrantId once per grantable model and destroys
// the Grant (helpers/revoke.js); a reused refresh token does the same at once, in parallel
// (actions/grants/refresh_token.js); a replayed code, a logout and a script's Grant.destroy() revoke
// the grant; RFC 7592 DELETE destroys the Client. Each of those events becomes one call of the
// revocation service, with its actor and reason: the repeats of one event within one request are the
// same call, so one reuse is one revocation and one audit row. Below this, the adapter only stores.
import Provider, { type Adapter, type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import { ConsumedAlready, type KnexAdapter } from '../adapter/knex_adapter.ts';
import { TOKEN_MODELS } from '../storage/table_map.ts';
import { type RevocationOptions, type RevocationService, RevocationTargetNotFound } from '../revocation/revocation_service.ts';

/**
 * Revoking any token of a grant ends the grant (RFC 7009 allows it; it is what a user disconnecting
 * expects), so the library's Grant destroy is always wanted; it is the same revocation as the token's.
 */
export const revokeGrantPolicy = (): boolean => true;

/** The provider request in progress (none: a script calling the provider's API). */
function providerRequest(): KoaContextWithOIDC | undefined {
  return (Provider as unknown as { ctx?: KoaContextWithOIDC }).ctx;
}

/** Who revokes and why, from the route the library is serving. */
function eventOf(ctx: KoaContextWithOIDC | undefined): RevocationOptions {
  const route = ctx?.oidc?.route;
  const clientId = ctx?.oidc?.client?.clientId;
  // A library event naming something already gone changes nothing and is not audited.
  const quiet = { requireTarget: true };
  if (!ctx) return { actor: { type: 'operator', id: 'provider-api' }, reason: 'provider API outside a request', ...quiet };
  if (route === 'revocation') return { actor: { type: 'client', id: clientId }, reason: 'RFC 7009 revocation request', ...quiet };
  if (route === 'client_delete') return { actor: { type: 'client', id: clientId }, reason: 'client deleted its registration (RFC 7592)', ...quiet };
  if (route === 'token') return { actor: { type: 'system' }, reason: 'reuse of a consumed code or refresh token', ...quiet };
  return { actor: { type: 'system' }, reason: `grant revoked by the provider (${route ?? 'provider'})`, ...quiet };
}

/** The revocations already started in each request, by grant id: the library's repeats join them. */
const started = new WeakMap<object, Map<string, Promise<void>>>();

function once(ctx: KoaContextWithOIDC | undefined, grantId: string, revoke: () => Promise<unknown>): Promise<void> {
  const key: object = ctx ?? {};
  let inRequest = started.get(key);
  if (!inRequest) started.set(key, (inRequest = new Map()));
  let revocation = inRequest.get(grantId);
  if (!revocation) inRequest.set(grantId, (revocation = quietly(revoke())));
  return revocation;
}

async function quietly(revocation: Promise<unknown>): Promise<void> {
  try {
    await revocation;
  } catch (error) {
    if (!(error instanceof RevocationTargetNotFound)) throw error;
  }
}

/** The token the request is about, as the library loaded it (it does before destroying one). */
function loadedToken(ctx: KoaContextWithOIDC | undefined, id: string): { grantId?: string | undefined } | undefined {
  const entities = (ctx?.oidc?.entities ?? {}) as Record<string, { jti?: string; grantId?: string } | undefined>;
  return ['RefreshToken', 'AccessToken', 'ClientCredentials'].map((kind) => entities[kind]).find((token) => token?.jti === id);
}

class RevokingAdapter implements Adapter {
  readonly #storage: KnexAdapter;
  readonly #revocation: RevocationService;

  constructor(storage: KnexAdapter, revocation: RevocationService) {
    this.#storage = storage;
    this.#revocation = revocation;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    // A token request's consume is made by the insert of its first new token (storage/request_scope.ts).
    return this.#revokingReuse(() => this.#storage.upsert(id, payload, expiresIn));
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.#storage.find(id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#storage.findByUid(uid);
  }

  /** Only the device flow finds by user code, and it is off (configuration.ts). */
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  consume(id: string): Promise<void> {
    return this.#revokingReuse(() => this.#storage.consume(id));
  }

  async #revokingReuse(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      // Of concurrent uses one wins; a loser is reuse and ends the whole grant (RFC 9700).
      if (error instanceof ConsumedAlready && error.grantId) await this.#revokeGrant(error.grantId);
      throw error;
    }
  }

  async destroy(id: string): Promise<void> {
    const { name } = this.#storage;
    const ctx = providerRequest();
    if (name === 'Grant') return this.#revokeGrant(id);
    if (name === 'Client') {
      await this.#revocation.deleteClient(id, eventOf(ctx));
      return;
    }
    if (!TOKEN_MODELS.has(name)) return this.#storage.destroy(id);
    // The library destroys a token only to revoke it (/revoke, refresh reuse): its grant ends too.
    const loaded = loadedToken(ctx, id);
    const grantId = loaded ? loaded.grantId : await this.#storage.grantIdOf(id);
    const revokeToken = () => this.#revocation.revokeToken(id, eventOf(ctx));
    if (!grantId) return quietly(revokeToken());
    // At /revoke the event is the token's revocation; anywhere else (reuse) the grant's.
    const revoke = ctx?.oidc?.route === 'revocation' ? revokeToken : () => this.#revocation.revokeGrant(grantId, eventOf(ctx));
    return once(ctx, grantId, revoke);
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.#revokeGrant(grantId);
  }

  #revokeGrant(grantId: string): Promise<void> {
    const ctx = providerRequest();
    return once(ctx, grantId, () => this.#revocation.revokeGrant(grantId, eventOf(ctx)));
  }
}

/** The provider's adapter: the storage of each model, with the library's revocations bridged to the service. */
export function revokingAdapters(storage: (name: string) => KnexAdapter, revocation: RevocationService): (name: string) => Adapter {
  return (name) => new RevokingAdapter(storage(name), revocation);
}
