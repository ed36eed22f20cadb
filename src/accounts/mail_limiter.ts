// Limits on the forms that send mail (sign-up, forgotten password, verification sent again), per
// client address and per recipient, so nobody floods an inbox or this server's mail reputation. The
// recipient counts whether or not an account has that address: a refusal reveals nothing.
import type { RateLimitSettings } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { hitRateLimits, retryAfterSeconds } from '../storage/rate_limit_store.ts';
import { hashTokenValue } from '../storage/token_hash.ts';
import { normalizeEmail } from '../storage/account_store.ts';

export type MailPermission = { allowed: true } | { allowed: false; retryAfter: number };

export type MailLimiter = (recipient: string, address: string) => Promise<MailPermission>;

export function mailLimiter(db: Database, limits: RateLimitSettings): MailLimiter {
  return async (recipient, address) => {
    const limited = new Map([
      [`account-mail-recipient:${hashTokenValue(normalizeEmail(recipient))}`, limits.accountMailPerRecipient],
      [`account-mail-address:${address}`, limits.accountMailPerAddress],
    ]);
    for (const [key, limit] of limited) if (limit <= 0) limited.delete(key);
    if (limited.size === 0) return { allowed: true };
    const windows = await hitRateLimits(db, [...limited.keys()], limits.windowSeconds);
    let retryAfter = 0;
    for (const [key, limit] of limited) {
      const window = windows.get(key)!;
      if (window.count > limit) retryAfter = Math.max(retryAfter, retryAfterSeconds(window.resetAt));
    }
    return retryAfter > 0 ? { allowed: false, retryAfter } : { allowed: true };
  };
}
