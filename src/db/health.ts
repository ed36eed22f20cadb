import type { Database } from './connect.ts';

/** True when the database answers a trivial query within the timeout. */
export async function pingDatabase(db: Database, timeoutMs = 2000): Promise<boolean> {
  try {
    await db.raw('select 1').timeout(timeoutMs, { cancel: false });
    return true;
  } catch {
    return false;
  }
}
