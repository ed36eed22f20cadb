// One Retry-After for every 503 on every surface (OAuth JSON, HTML pages, the MCP server, the admin
// API, /readyz): the database or token verification cannot answer right now, and a few seconds is
// what a pool reconnect or a failover takes. 429s are not this policy: they name the seconds left in
// their own window (storage/rate_limit_store.ts).
import type { Context } from 'koa';

/** Seconds a client is told to wait before retrying a 503. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Sets the Retry-After of a 503. */
export function setUnavailableRetryAfter(ctx: Pick<Context, 'set'>): void {
  ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
}
