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
  const result = await db.raw<{ rows: Row[] }>(
    `insert into rate_limits as r (key, count, window_started_at, expires_at)
     values (?, 1, now(), now() + make_interval(secs => ?))
     on conflict (key) do update set
       count = case when r.expires_at <= now() then 1 else r.count + 1 end,
       window_started_at = case when r.expires_at <= now() then now() else r.window_started_at end,
       expires_at = case when r.expires_at <= now() then excluded.expires_at else r.expires_at end
     returning count, expires_at`,
    [key, windowSeconds],
  );
  return toWindow(result.rows[0]!);
}

/** The current window's count under `key` (0 when there is none or it has ended). */
export async function peekRateLimit(db: Database, key: string): Promise<WindowCount | undefined> {
  const row = (await db('rate_limits').select('count', 'expires_at').where({ key }).where('expires_at', '>', db.fn.now()).first()) as Row | undefined;
  return row ? toWindow(row) : undefined;
}

/** Forgets `key` (a successful sign-in clears that account's failed attempts). */
export async function clearRateLimit(db: Database, key: string): Promise<void> {
  await db('rate_limits').where({ key }).delete();
}
