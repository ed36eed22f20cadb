// Requests per client address, counted in the database so the limits hold across every process
// (src/storage/rate_limit_store.ts; concurrent requests in one statement, rate_limit_batch.ts):
// /token, /revoke, /reg (dynamic registration spam), the admin API, and /authorize with PAR's
// /request and the upstream sign-in routes (unauthenticated, and each can store a row; an upstream
// callback also makes requests to the upstream). Failed sign-ins per account and per address are
// src/accounts/sign_in_limiter.ts.
// Over a limit: 429 with Retry-After (seconds until the window ends). A limit of 0 is off.
import type { Context, Next } from 'koa';
import type { RateLimitSettings } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { setLimitRetryAfter } from '../retry_after.ts';
import { batchedRateLimitCounter } from '../storage/rate_limit_batch.ts';
import { retryAfterSeconds } from '../storage/rate_limit_store.ts';
import { oauthErrorAnswer } from './error_answers.ts';

export type RateLimits = RateLimitSettings;

type Bucket = 'token' | 'revoke' | 'registration' | 'admin' | 'authorize';

/** src/http/upstream_routes.ts */
const UPSTREAM_START = /^\/(?:interaction\/[^/]+|account)\/upstream\/[^/]+$/;
const UPSTREAM_CALLBACK = /^\/upstream\/[^/]+\/callback$/;

function bucketOf(ctx: Context): Bucket | undefined {
  const { method, path } = ctx;
  if (method === 'POST' && path === '/token') return 'token';
  if (method === 'POST' && path === '/revoke') return 'revoke';
  if (((method === 'GET' || method === 'POST') && path === '/authorize') || (method === 'POST' && path === '/request')) return 'authorize';
  if ((method === 'POST' && UPSTREAM_START.test(path)) || (method === 'GET' && UPSTREAM_CALLBACK.test(path))) return 'authorize';
  if (path === '/reg' || path.startsWith('/reg/')) return method === 'OPTIONS' ? undefined : 'registration';
  if ((path === '/admin' || path.startsWith('/admin/')) && path !== '/admin/openapi.json') return 'admin';
  return undefined;
}

function tooManyRequests(ctx: Context, retryAfter: number): void {
  setLimitRetryAfter(ctx, retryAfter);
  ctx.set('Cache-Control', 'no-store');
  oauthErrorAnswer(ctx, 429, 'too_many_requests', `too many requests from this address, retry after ${retryAfter} s`);
}

/** Per-address request limits on the token, revocation, registration, admin, authorization and PAR endpoints. */
export function requestRateLimits(db: Database, limits: RateLimits) {
  // Concurrent requests are counted together, one statement per group (storage/rate_limit_batch.ts).
  const hit = batchedRateLimitCounter(db, limits.windowSeconds);
  return async function limitRequests(ctx: Context, next: Next): Promise<void> {
    const bucket = bucketOf(ctx);
    const limit = bucket ? limits[bucket] : 0;
    if (bucket && limit > 0) {
      const { count, resetAt } = await hit(`${bucket}:${ctx.ip}`);
      if (count > limit) {
        tooManyRequests(ctx, retryAfterSeconds(resetAt));
        return;
      }
    }
    await next();
  };
}
