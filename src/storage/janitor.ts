// Purges rows past their expiry (plus the provider's clock tolerance), in batches so a large
// backlog never holds long locks. Expired grants take their remaining tokens with them.
import { BATCH_SIZE } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { EXPIRING_TABLES } from './table_map.ts';

export type PurgeCounts = Record<(typeof EXPIRING_TABLES)[number]['name'], number>;

export async function purgeExpired(db: Database, clockTolerance: number): Promise<PurgeCounts> {
  const cutoff = new Date(Date.now() - clockTolerance * 1000);
  const counts: PurgeCounts = { tokens: 0, models: 0, grants: 0, tombstones: 0, rateLimits: 0, dpopProofs: 0, accountTokens: 0, upstreamSignIns: 0 };
  for (const { name, table, key } of EXPIRING_TABLES) {
    for (;;) {
      const result = await db.raw<{ rowCount: number | null; affectedRows?: number }>(
        `delete from ${table} where ${key} in (select ${key} from ${table} where expires_at < ? limit ${BATCH_SIZE})`,
        [cutoff],
      );
      const deleted = result.rowCount ?? result.affectedRows ?? 0;
      counts[name] += deleted;
      if (deleted < BATCH_SIZE) break;
    }
  }
  return counts;
}
