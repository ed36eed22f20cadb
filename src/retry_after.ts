// The one Retry-After policy. A 503 on every surface (OAuth JSON, HTML pages, the MCP server, the
// admin API, /readyz) says 5 s: the database or token verification cannot answer right now, and a few
// seconds is what a pool reconnect or a failover takes. A 429 says the seconds left in its own window
// (storage/rate_limit_store.ts).
import type { Context } from 'koa';

/** Seconds a client is told to wait before retrying a 503. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Sets the Retry-After of a 503. */
export function setUnavailableRetryAfter(ctx: Pick<Context, 'set'>): void {
  ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
}

/** Sets the Retry-After of a 429: the seconds until the limit's window ends. */
export function setLimitRetryAfter(ctx: Pick<Context, 'set'>, seconds: number): void {
  ctx.set('Retry-After', String(seconds));
}
