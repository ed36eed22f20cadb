// Abuse limits, counted in the database so they hold across every process (src/storage/rate_limit_store.ts):
// - requests per client address to /token, /revoke, /reg (dynamic registration spam) and the admin API;
// - failed sign-ins per account and per address (the login form), checked before the password is.
// Over a limit: 429 with Retry-After (seconds until the window ends). A limit of 0 is off.
import type { Context, Next } from 'koa';
import type { RateLimitSettings } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { clearRateLimit, hitRateLimit, peekRateLimit } from '../storage/rate_limit_store.ts';
import { hashTokenValue } from '../storage/token_hash.ts';

export type RateLimits = RateLimitSettings;

type Bucket = 'token' | 'revoke' | 'registration' | 'admin';

function bucketOf(ctx: Context): Bucket | undefined {
  const { method, path } = ctx;
  if (method === 'POST' && path === '/token') return 'token';
  if (method === 'POST' && path === '/revoke') return 'revoke';
  if (path === '/reg' || path.startsWith('/reg/')) return method === 'OPTIONS' ? undefined : 'registration';
  if ((path === '/admin' || path.startsWith('/admin/')) && path !== '/admin/openapi.json') return 'admin';
  return undefined;
}

export function retryAfterSeconds(resetAt: Date): number {
  return Math.max(1, Math.ceil((resetAt.getTime() - Date.now()) / 1000));
}

function tooManyRequests(ctx: Context, retryAfter: number): void {
  ctx.status = 429;
  ctx.set('Retry-After', String(retryAfter));
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'too_many_requests', error_description: `too many requests from this address, retry after ${retryAfter} s` };
}

/** Per-address request limits on the token, revocation, registration and admin endpoints. */
export function requestRateLimits(db: Database, limits: RateLimits) {
  return async function limitRequests(ctx: Context, next: Next): Promise<void> {
    const bucket = bucketOf(ctx);
    const limit = bucket ? limits[bucket] : 0;
    if (bucket && limit > 0) {
      const { count, resetAt } = await hitRateLimit(db, `${bucket}:${ctx.ip}`, limits.windowSeconds);
      if (count > limit) {
        tooManyRequests(ctx, retryAfterSeconds(resetAt));
        return;
      }
    }
    await next();
  };
}

export interface LoginLimiter {
  /** Seconds to wait when the account or the address is over its failed sign-in limit, else undefined. */
  blocked(email: string, address: string): Promise<number | undefined>;
  /** Counts a failed sign-in against the account and the address. */
  failed(email: string, address: string): Promise<void>;
  /** A successful sign-in clears the account's failures (the address keeps its count). */
  succeeded(email: string): Promise<void>;
}

const accountKey = (email: string) => `login-account:${hashTokenValue(email.trim().toLowerCase())}`;
const addressKey = (address: string) => `login-address:${address}`;

export function loginLimiter(db: Database, limits: RateLimits): LoginLimiter {
  const checks = (email: string, address: string): [string, number][] => [
    [accountKey(email), limits.loginFailuresPerAccount],
    [addressKey(address), limits.loginFailuresPerAddress],
  ];
  return {
    async blocked(email, address) {
      let wait: number | undefined;
      for (const [key, limit] of checks(email, address)) {
        if (limit <= 0) continue;
        const current = await peekRateLimit(db, key);
        if (current && current.count >= limit) wait = Math.max(wait ?? 0, retryAfterSeconds(current.resetAt));
      }
      return wait;
    },
    async failed(email, address) {
      for (const [key, limit] of checks(email, address)) {
        if (limit > 0) await hitRateLimit(db, key, limits.windowSeconds);
      }
    },
    async succeeded(email) {
      if (limits.loginFailuresPerAccount > 0) await clearRateLimit(db, accountKey(email));
    },
  };
}
