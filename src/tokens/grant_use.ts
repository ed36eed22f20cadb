// Last use of a grant, for the account pages: recorded when the token endpoint issues an access token
// and when a resource server accepts one. Cheap by construction: a grant seen within the last minute
// costs a map lookup here, and the SQL guard (grant_store.recordGrantUse) keeps other processes to one
// write per grant per minute too. Fire-and-forget: a failed write is logged, never fails the request.
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { GRANT_USE_RESOLUTION_SECONDS, recordGrantUse } from '../storage/grant_store.ts';

export type GrantUseRecorder = (grantId: string) => void;

const MAX_REMEMBERED = 10_000;

export function grantUseRecorder(db: Database, logger: Logger): GrantUseRecorder {
  const lastRecorded = new Map<string, number>();
  const resolution = GRANT_USE_RESOLUTION_SECONDS * 1000;
  return (grantId) => {
    const now = Date.now();
    const previous = lastRecorded.get(grantId);
    if (previous !== undefined && now - previous < resolution) return;
    if (lastRecorded.size >= MAX_REMEMBERED) lastRecorded.clear();
    lastRecorded.set(grantId, now);
    recordGrantUse(db, grantId).catch((error: unknown) => {
      lastRecorded.delete(grantId);
      logger.warn({ err: error, grantId }, 'could not record grant use');
    });
  };
}
