// Request counting without a statement per request: hits that arrive while a counting statement is
// in flight wait for it to finish and are then counted together, in one statement (group commit).
// Nothing is approximate: every hit is counted in the database before its request goes on, and the
// hits counted together get consecutive counts, as if each had been its own statement. An idle
// process sends a hit at once, so a lone request waits no longer than before.
import type { Database } from '../db/connect.ts';
import { addRateLimitHits, type WindowCount } from './rate_limit_store.ts';

interface Waiter {
  key: string;
  resolve: (window: WindowCount) => void;
  reject: (error: unknown) => void;
}

export type RateLimitCounter = (key: string) => Promise<WindowCount>;

/** Counts hits in windows of `windowSeconds`, grouping concurrent ones into one statement. */
export function batchedRateLimitCounter(db: Database, windowSeconds: number): RateLimitCounter {
  let waiting: Waiter[] = [];
  let inFlight = false;

  async function flush(): Promise<void> {
    inFlight = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const hits = new Map<string, number>();
      for (const waiter of batch) hits.set(waiter.key, (hits.get(waiter.key) ?? 0) + 1);
      try {
        const windows = await addRateLimitHits(db, hits, windowSeconds);
        const given = new Map<string, number>();
        for (const waiter of batch) {
          const window = windows.get(waiter.key)!;
          const before = given.get(waiter.key) ?? 0;
          given.set(waiter.key, before + 1);
          waiter.resolve({ count: window.count - hits.get(waiter.key)! + before + 1, resetAt: window.resetAt });
        }
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    inFlight = false;
  }

  return (key) =>
    new Promise<WindowCount>((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (!inFlight) void flush();
    });
}
