// "Delete my account" on the account pages: after the password is given again (under the sign-in
// limits), the revocation service revokes every grant, ends every session and erases the account's
// personal data, audited as done by the user; the browser's session cookie goes too.
import type { Context } from 'koa';
import { type AccountPages, field, render, user } from './account_steps.ts';
import { csrfToken } from './csrf.ts';
import { checkPassword } from './sign_in.ts';
import { accountDeletedPage, deleteAccountPage } from './views/self_service_pages.ts';

export function deleteAccountFormHandler() {
  return function deleteAccountForm(ctx: Context): void {
    render(ctx, deleteAccountPage({ csrf: csrfToken(ctx), email: user(ctx).account.email }));
  };
}

export function deleteAccountHandler(pages: AccountPages) {
  return async function deleteAccount(ctx: Context): Promise<void> {
    const { account } = user(ctx);
    const refuse = (error: string, status: number) => render(ctx, deleteAccountPage({ csrf: csrfToken(ctx), email: account.email, error }), status);
    const check = await checkPassword(ctx, pages, account.email, field(ctx, 'password'));
    if (check.outcome === 'refused') return refuse(`Too many failed attempts. Try again in ${check.retryAfter} seconds.`, 429);
    if (check.outcome !== 'signed-in') return refuse('That is not your password.', 401);
    const outcome = await pages.revocation.deleteAccount(account.id, {
      actor: { type: 'user', id: account.id },
      reason: 'deleted by the user on the account page',
    });
    ctx.cookies.set(pages.sessionCookie, null, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    render(ctx, accountDeletedPage({ counts: outcome.counts }));
  };
}
