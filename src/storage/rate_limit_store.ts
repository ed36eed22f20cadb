// Fixed-window counters in PostgreSQL, so a limit holds across every process serving the database.
// One statement per hit, or per group of hits (rate_limit_batch.ts): the upsert either starts a new
// window (the row is missing or expired) or adds to the current one, and returns the count and when
// the window ends.
import type { Database } from '../db/connect.ts';

export interface WindowCount {
  count: number;
  /** When the current window ends (the counter starts again from zero). */
  resetAt: Date;
}

interface Row {
  count: number | string;
  expires_at: Date | string;
}

function toWindow(row: Row): WindowCount {
  return { count: Number(row.count), resetAt: new Date(row.expires_at) };
}

/**
 * Counts one event under each of `keys` (distinct) in one statement, so parallel callers each see a
 * different count: a reservation made before the work it limits. Returns every key's window.
 */
export async function hitRateLimits(db: Database, keys: string[], windowSeconds: number): Promise<Map<string, WindowCount>> {
  return addRateLimitHits(db, new Map(keys.map((key) => [key, 1])), windowSeconds);
}

/**
 * Counts `hits.get(key)` events under each key in one statement; returns each key's window with the
 * count including them (so the n events counted together hold counts count-n+1 .. count).
 */
export async function addRateLimitHits(db: Database, hits: Map<string, number>, windowSeconds: number): Promise<Map<string, WindowCount>> {
  const entries = [...hits];
  const result = await db.raw<{ rows: (Row & { key: string })[] }>(
    `insert into rate_limits as r (key, count, window_started_at, expires_at)
     values ${entries.map(() => '(?, ?::int, now(), now() + make_interval(secs => ?))').join(', ')}
     on conflict (key) do update set
       count = case when r.expires_at <= now() then excluded.count else r.count + excluded.count end,
       window_started_at = case when r.expires_at <= now() then now() else r.window_started_at end,
       expires_at = case when r.expires_at <= now() then excluded.expires_at else r.expires_at end
     returning key, count, expires_at`,
    entries.flatMap(([key, count]) => [key, count, windowSeconds]),
  );
  return new Map(result.rows.map((row) => [row.key, toWindow(row)]));
}

/** Gives back one event counted under each of `keys` in their current window (a sign-in that succeeded). */
export async function refundRateLimits(db: Database, keys: string[]): Promise<void> {
  await db('rate_limits').whereIn('key', keys).where('count', '>', 0).where('expires_at', '>', db.fn.now()).decrement('count', 1);
}

/** Whole seconds until a window ends (at least 1): the Retry-After of a refusal. */
export function retryAfterSeconds(resetAt: Date): number {
  return Math.max(1, Math.ceil((resetAt.getTime() - Date.now()) / 1000));
}
