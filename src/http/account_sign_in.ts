// Signing in and out on the account pages. Signing in starts the provider's own browser session, so
// it also skips the login step of a later /authorize; signing out ends that session only.
import type { Context } from 'koa';
import { type AccountPages, field, render } from './account_steps.ts';
import { csrfToken } from './csrf.ts';
import { checkPassword, signInFailure } from './sign_in.ts';
import { selfServiceLinks } from './account_self_service.ts';
import { accountSignedOutPage, accountSignInPage } from './views/account_pages.ts';
import { accountLinks } from './views/self_service_pages.ts';

export function signInHandler(pages: AccountPages) {
  return async function signIn(ctx: Context): Promise<void> {
    const email = field(ctx, 'email');
    const check = await checkPassword(ctx, pages, email, field(ctx, 'password'));
    if (check.outcome !== 'signed-in') {
      const { status, error } = signInFailure(check);
      return render(ctx, accountSignInPage({ csrf: csrfToken(ctx), email, error, links: accountLinks(selfServiceLinks(pages.selfService)), upstreams: pages.upstreams }), status);
    }
    await startSession(pages, ctx, check.account.id);
    ctx.status = 303;
    ctx.redirect('/account');
  };
}

export function signOutHandler({ provider, sessionCookie }: AccountPages) {
  return async function signOut(ctx: Context): Promise<void> {
    const session = await provider.Session.get(ctx);
    // Ends the browser session only: connected apps hold their own grants and keep them.
    if (!(session as { new?: boolean }).new) await session.destroy();
    ctx.cookies.set(sessionCookie, null, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    render(ctx, accountSignedOutPage());
  };
}

/** Starts (or restarts, under a new id) the provider's session for this browser. */
export async function startSession({ provider, sessionTtl, sessionCookie }: AccountPages, ctx: Context, accountId: string): Promise<void> {
  const session = await provider.Session.get(ctx);
  if (session.accountId !== accountId) session.authorizations = undefined;
  // A fresh id on every sign-in: a session id planted before sign-in is worthless after it.
  if (!(session as { new?: boolean }).new) session.resetIdentifier();
  session.loginAccount({ accountId });
  await session.save(sessionTtl);
  ctx.cookies.set(sessionCookie, session.jti, {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    secure: ctx.secure,
    overwrite: true,
    expires: new Date(session.exp * 1000),
  });
}
