// Fixed-window counters in PostgreSQL, so a limit holds across every process serving the database.
// One statement per hit: the upsert either starts a new window (the row is missing or expired) or
// adds one to the current one, and returns the count and when the window ends.
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

/** Counts one event under `key` in a window of `windowSeconds`; returns the count including it. */
export async function hitRateLimit(db: Database, key: string, windowSeconds: number): Promise<WindowCount> {
  return (await hitRateLimits(db, [key], windowSeconds)).get(key)!;
}

/**
 * Counts one event under each of `keys` (distinct) in one statement, so parallel callers each see a
 * different count: a reservation made before the work it limits. Returns every key's window.
 */
export async function hitRateLimits(db: Database, keys: string[], windowSeconds: number): Promise<Map<string, WindowCount>> {
  const result = await db.raw<{ rows: (Row & { key: string })[] }>(
    `insert into rate_limits as r (key, count, window_started_at, expires_at)
     values ${keys.map(() => '(?, 1, now(), now() + make_interval(secs => ?))').join(', ')}
     on conflict (key) do update set
       count = case when r.expires_at <= now() then 1 else r.count + 1 end,
       window_started_at = case when r.expires_at <= now() then now() else r.window_started_at end,
       expires_at = case when r.expires_at <= now() then excluded.expires_at else r.expires_at end
     returning key, count, expires_at`,
    keys.flatMap((key) => [key, windowSeconds]),
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
