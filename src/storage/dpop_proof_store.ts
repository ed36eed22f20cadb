// The DPoP proofs resource servers have accepted (RFC 9449 §11.1 replay detection), shared by every
// process on the database. One statement per proof: of concurrent requests carrying the same proof,
// exactly one inserts its row; a row past its expiry (not yet purged) is taken over in place.
import type { Database } from '../db/connect.ts';

/** Records the first use of the proof `key` until `expiresAt`; false when it was used already. */
export async function recordProofUse(db: Database, key: string, expiresAt: Date): Promise<boolean> {
  const now = new Date();
  const result = await db.raw<{ rows: unknown[] }>(
    `insert into dpop_proofs as p (key, expires_at) values (?, ?)
     on conflict (key) do update set expires_at = excluded.expires_at where p.expires_at <= ?
     returning key`,
    [key, expiresAt, now],
  );
  return result.rows.length === 1;
}
