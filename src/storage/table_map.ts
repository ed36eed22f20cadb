// Which provider model lives in which table, keyed how, and whether its id is stored hashed: read by
// the adapter (where a model's rows are), the revocation store (what a cascade deletes) and the
// janitor (what expires). The migrations lay the tables out; this is the one map of them.

export const TABLES = {
  /** Grants, keyed by their id in clear (operators name them); tokens reference them ON DELETE CASCADE. */
  grants: 'oidc_grants',
  /** Grant-bound tokens and client-credentials tokens, keyed by the SHA-256 of their value (id_hash). */
  tokens: 'oidc_tokens',
  /** Every other model, keyed by (model, id); id hashed unless the model's id is not a secret. */
  models: 'oidc_models',
  /** A tombstone per revoked grant, checked by a trigger after every grant write. */
  revokedGrants: 'oidc_revoked_grants',
  /** Clients that may not authorize or use their tokens: a stored client's read joins it. */
  disabledClients: 'disabled_clients',
  /** Not provider models (their SQL is account_store.ts's and resource_store.ts's): a token read joins them to read them ahead (request_scope.ts). */
  accounts: 'accounts',
  resources: 'resources',
} as const;

/**
 * Models whose rows are in `oidc_tokens` and reference their grant. Device flow, CIBA and
 * pre-authorized codes are off (provider/configuration.ts leaves them disabled, and a test says so), so
 * their models never reach storage.
 */
export const TOKEN_MODELS: ReadonlySet<string> = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'ClientCredentials']);

/** Models whose id is not a secret: kept in clear so operators can find them. */
const CLEAR_ID_MODELS: ReadonlySet<string> = new Set(['Grant', 'Client']);

export interface ModelLocation {
  table: (typeof TABLES)[keyof typeof TABLES];
  /** The key column. */
  key: 'id' | 'id_hash';
  /** The table holds several models: rows are also selected by `model`. */
  sharedByModels: boolean;
  /** The key is the SHA-256 of the id (storage/token_hash.ts), never the id. */
  hashed: boolean;
}

export function locationOf(model: string): ModelLocation {
  const hashed = !CLEAR_ID_MODELS.has(model);
  if (model === 'Grant') return { table: TABLES.grants, key: 'id', sharedByModels: false, hashed };
  if (TOKEN_MODELS.has(model)) return { table: TABLES.tokens, key: 'id_hash', sharedByModels: true, hashed };
  return { table: TABLES.models, key: 'id', sharedByModels: true, hashed };
}

/** Tables of rows with an `expires_at`, and the key the janitor deletes them by. */
export const EXPIRING_TABLES = [
  { name: 'tokens', table: TABLES.tokens, key: 'id_hash' },
  { name: 'models', table: TABLES.models, key: 'ctid' },
  { name: 'grants', table: TABLES.grants, key: 'id' },
  { name: 'tombstones', table: TABLES.revokedGrants, key: 'grant_id' },
  { name: 'rateLimits', table: 'rate_limits', key: 'key' },
  { name: 'dpopProofs', table: 'dpop_proofs', key: 'key' },
  { name: 'accountTokens', table: 'account_tokens', key: 'id_hash' },
  { name: 'upstreamSignIns', table: 'upstream_sign_ins', key: 'state_hash' },
] as const;
