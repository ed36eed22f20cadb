// Shared by the revocation suites: row counts per provider model, and grants with refresh tokens
// minted through the provider's own models (no browser flow).
import type Provider from 'oidc-provider';
import type { Database } from '../../src/db/connect.ts';
import type { RegisteredClient } from '../support/oauth_flow.ts';
import { mintAccessToken, mintGrant as mintSupportGrant, mintRefreshToken } from '../support/tokens.ts';

export type ModelCounts = Record<string, number>;

/** Rows per provider model name, across the three tables the adapter writes. */
export async function countRows(db: Database, where: { clientId?: string; accountId?: string } = {}): Promise<ModelCounts> {
  const filter = (table: string) => {
    const clauses: string[] = [];
    const bindings: string[] = [];
    if (where.clientId !== undefined) {
      clauses.push('client_id = ?');
      bindings.push(where.clientId);
    }
    if (where.accountId !== undefined) {
      clauses.push('account_id = ?');
      bindings.push(where.accountId);
    }
    const sql = clauses.length ? ` where ${clauses.join(' and ')}` : '';
    return { sql: `select ${table === 'oidc_grants' ? "'Grant'" : 'model'} as model, count(*) as n from ${table}${sql} group by 1`, bindings };
  };
  const counts: ModelCounts = {};
  for (const table of ['oidc_grants', 'oidc_tokens', 'oidc_models']) {
    const { sql, bindings } = filter(table);
    const result = await db.raw<{ rows: { model: string; n: string | number }[] }>(sql, bindings);
    for (const row of result.rows) counts[row.model] = (counts[row.model] ?? 0) + Number(row.n);
  }
  return counts;
}

/** What went missing between two snapshots, by model (only models that lost rows). */
export function lost(before: ModelCounts, after: ModelCounts): ModelCounts {
  const difference: ModelCounts = {};
  for (const [model, count] of Object.entries(before)) {
    const gone = count - (after[model] ?? 0);
    if (gone !== 0) difference[model] = gone;
  }
  return difference;
}

/** Counts as reported, without zero entries, for comparison with `lost`. */
export function nonZero(counts: Record<string, number>): ModelCounts {
  return Object.fromEntries(Object.entries(counts).filter(([, count]) => count !== 0));
}


export interface MintedGrant {
  grantId: string;
  accountId: string;
  refreshToken: string;
  accessToken: string;
}

/**
 * What a completed authorization leaves behind, written through the provider's models: a Grant with
 * the resource's scopes, a refresh token and an access token bound to it.
 */
export async function mintGrant(
  provider: Provider,
  options: { client: RegisteredClient; accountId: string; resource: string; scope?: string },
): Promise<MintedGrant> {
  const fields = { clientId: options.client.client_id, accountId: options.accountId, resource: options.resource, scope: options.scope };
  const grantId = await mintSupportGrant(provider, fields);
  const refreshToken = await mintRefreshToken(provider, { ...fields, grantId });
  const accessToken = await mintAccessToken(provider, { ...fields, grantId, aud: options.resource });
  return { grantId, accountId: options.accountId, refreshToken, accessToken };
}
