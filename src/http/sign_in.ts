// One password check for every form that takes a password (the login step of /authorize, the
// /account sign-in, the current password of a password change): counted by the failed sign-in limits,
// and a refusal carries the seconds left in its window as Retry-After.
import type { Context } from 'koa';
import { type Account, authenticate } from '../storage/account_store.ts';
import type { SelfService } from '../accounts/self_service.ts';
import type { SignInLimiter } from '../accounts/sign_in_limiter.ts';
import type { Database } from '../db/connect.ts';
import { setLimitRetryAfter } from '../retry_after.ts';

export type PasswordCheck =
  | { outcome: 'refused'; retryAfter: number }
  | { outcome: 'wrong' }
  | { outcome: 'unverified' }
  | { outcome: 'signed-in'; account: Account };

/**
 * Checks `password` for `email` unless the account or this address is over its limit (no email: wrong).
 * A self-registered account whose address is not verified yet signs in nowhere: with the right
 * password it is mailed its verification link again (under the mail limits).
 */
export async function checkPassword(
  ctx: Context,
  { db, logins, selfService }: { db: Database; logins: SignInLimiter; selfService?: SelfService | undefined },
  email: string | undefined,
  password: string | undefined,
): Promise<PasswordCheck> {
  if (!email) return { outcome: 'wrong' };
  const attempt = await logins.attempt(email, ctx.ip, async () => (password ? authenticate(db, email, password) : undefined));
  if (attempt.refused) {
    setLimitRetryAfter(ctx, attempt.retryAfter);
    return { outcome: 'refused', retryAfter: attempt.retryAfter };
  }
  const account = attempt.result;
  if (!account) return { outcome: 'wrong' };
  if (!account.emailVerified) {
    await selfService?.resendVerification(account, ctx.ip);
    return { outcome: 'unverified' };
  }
  return { outcome: 'signed-in', account };
}

/** What a sign-in form answers to a failed check. */
export function signInFailure(check: Exclude<PasswordCheck, { outcome: 'signed-in' }>): { status: 401 | 403 | 429; error: string } {
  if (check.outcome === 'refused') return { status: 429, error: `Too many failed sign-in attempts. Try again in ${check.retryAfter} seconds.` };
  if (check.outcome === 'unverified') {
    return { status: 403, error: 'Confirm your email address first: open the link we mailed you (we have just sent it again).' };
  }
  return { status: 401, error: 'Wrong email or password.' };
}
