// Failed sign-in limits, per account and per client address, for every place a password is checked:
// the login form, the /account sign-in and the current password on /account/password share them.
// An attempt is counted before the password is (one statement for both counters, a reservation), so
// parallel guesses cannot all pass a check made before any of them was counted; over either limit
// the password is not checked at all. A right password gives its attempt back: only failures add up.
import type { RateLimitSettings } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { hitRateLimits, refundRateLimits, retryAfterSeconds } from '../storage/rate_limit_store.ts';
import { hashTokenValue } from '../storage/token_hash.ts';

export type SignInAttempt<T> = { refused: true; retryAfter: number } | { refused: false; result: T | undefined };

export interface SignInLimiter {
  /** Runs `check` (a password check for `email`) unless the account or `address` is over its limit. */
  attempt<T>(email: string, address: string, check: () => Promise<T | undefined>): Promise<SignInAttempt<T>>;
}

const accountKey = (email: string) => `login-account:${hashTokenValue(email.trim().toLowerCase())}`;
const addressKey = (address: string) => `login-address:${address}`;

export function signInLimiter(db: Database, limits: RateLimitSettings): SignInLimiter {
  return {
    async attempt(email, address, check) {
      const limited = new Map([
        [accountKey(email), limits.loginFailuresPerAccount],
        [addressKey(address), limits.loginFailuresPerAddress],
      ]);
      for (const [key, limit] of limited) if (limit <= 0) limited.delete(key);
      if (limited.size === 0) return { refused: false, result: await check() };
      const keys = [...limited.keys()];
      const windows = await hitRateLimits(db, keys, limits.windowSeconds);
      let retryAfter = 0;
      for (const [key, limit] of limited) {
        const window = windows.get(key)!;
        if (window.count > limit) retryAfter = Math.max(retryAfter, retryAfterSeconds(window.resetAt));
      }
      if (retryAfter > 0) return { refused: true, retryAfter };
      const result = await check();
      if (result !== undefined) await refundRateLimits(db, keys);
      return { refused: false, result };
    },
  };
}

/** No limits (an app built without them, e.g. a benchmark): the password is always checked. */
export const unlimitedSignIns: SignInLimiter = {
  async attempt(_email, _address, check) {
    return { refused: false, result: await check() };
  },
};
