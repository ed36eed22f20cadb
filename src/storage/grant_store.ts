// Read access to grants (who authorized which client, with what) for operators and account pages.
import type { Database } from '../db/connect.ts';

export interface GrantSummary {
  grantId: string;
  clientId: string;
  accountId: string;
  /** Resource indicator -> granted scopes. */
  resources: Record<string, string>;
  openidScope: string | undefined;
  createdAt: Date;
  expiresAt: Date | undefined;
  /** Last token issued or accepted for the grant, to the minute (undefined: never used). */
  lastUsedAt: Date | undefined;
  /** Tokens currently stored for the grant, by model. */
  tokens: Record<string, number>;
}

interface GrantRow {
  id: string;
  client_id: string;
  account_id: string;
  payload: { resources?: Record<string, string>; openid?: { scope?: string } };
  created_at: Date | string;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  tokens: Record<string, number> | null;
}

export interface GrantQuery {
  clientId?: string | undefined;
  accountId?: string | undefined;
  grantId?: string | undefined;
  limit?: number | undefined;
}

export async function listGrants(db: Database, query: GrantQuery = {}): Promise<GrantSummary[]> {
  const rows: GrantRow[] = await db('oidc_grants as g')
    .select(
      'g.id',
      'g.client_id',
      'g.account_id',
      'g.payload',
      'g.created_at',
      'g.expires_at',
      'g.last_used_at',
      db.raw(
        `(select jsonb_object_agg(model, n) from (
           select model, count(*) as n from oidc_tokens t where t.grant_id = g.id group by model
         ) counted) as tokens`,
      ),
    )
    .modify((builder) => {
      if (query.clientId !== undefined) builder.where('g.client_id', query.clientId);
      if (query.accountId !== undefined) builder.where('g.account_id', query.accountId);
      if (query.grantId !== undefined) builder.where('g.id', query.grantId);
    })
    .orderBy('g.created_at', 'desc')
    .limit(query.limit ?? 1000);
  return rows.map((row) => ({
    grantId: row.id,
    clientId: row.client_id,
    accountId: row.account_id,
    resources: row.payload.resources ?? {},
    openidScope: row.payload.openid?.scope,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at ? new Date(row.expires_at) : undefined,
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : undefined,
    tokens: Object.fromEntries(Object.entries(row.tokens ?? {}).map(([model, n]) => [model, Number(n)])),
  }));
}

/** Minimum time between two last-use writes for one grant. */
export const GRANT_USE_RESOLUTION_SECONDS = 60;

/**
 * Records that a grant was used now, unless that was already recorded within the last minute: the
 * guard makes the statement a no-op (no row version written) for a grant in steady use.
 * True when the row was written.
 */
export async function recordGrantUse(db: Database, grantId: string): Promise<boolean> {
  const updated = await db('oidc_grants')
    .where({ id: grantId })
    .where((q) =>
      q.whereNull('last_used_at').orWhereRaw(`last_used_at < now() - make_interval(secs => ?)`, [GRANT_USE_RESOLUTION_SECONDS]),
    )
    .update({ last_used_at: db.fn.now() });
  return updated > 0;
}
