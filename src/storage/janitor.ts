// Purges rows past their expiry (plus the provider's clock tolerance), in batches so a large
// backlog never holds long locks. Expired grants take their remaining tokens with them.
import type { Database } from '../db/connect.ts';

const BATCH = 5000;

export type PurgeCounts = Record<'tokens' | 'models' | 'grants' | 'tombstones' | 'rateLimits' | 'dpopProofs' | 'upstreamSignIns', number>;

const TABLES: { name: keyof PurgeCounts; table: string; key: string }[] = [
  { name: 'tokens', table: 'oidc_tokens', key: 'id_hash' },
  { name: 'models', table: 'oidc_models', key: 'ctid' },
  { name: 'grants', table: 'oidc_grants', key: 'id' },
  { name: 'tombstones', table: 'oidc_revoked_grants', key: 'grant_id' },
  { name: 'rateLimits', table: 'rate_limits', key: 'key' },
  { name: 'dpopProofs', table: 'dpop_proofs', key: 'key' },
  { name: 'upstreamSignIns', table: 'upstream_sign_ins', key: 'state_hash' },
];

export async function purgeExpired(db: Database, clockTolerance: number): Promise<PurgeCounts> {
  const cutoff = new Date(Date.now() - clockTolerance * 1000);
  const counts: PurgeCounts = { tokens: 0, models: 0, grants: 0, tombstones: 0, rateLimits: 0, dpopProofs: 0, upstreamSignIns: 0 };
  for (const { name, table, key } of TABLES) {
    for (;;) {
      const result = await db.raw<{ rowCount: number | null; affectedRows?: number }>(
        `delete from ${table} where ${key} in (select ${key} from ${table} where expires_at < ? limit ${BATCH})`,
        [cutoff],
      );
      const deleted = result.rowCount ?? result.affectedRows ?? 0;
      counts[name] += deleted;
      if (deleted < BATCH) break;
    }
  }
  return counts;
}
