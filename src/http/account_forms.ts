// The signed-in user's forms: disconnect one app or all of them (each after a confirm page), change
// the password. Every revocation goes through the revocation service, audited as done by the user.
import type { Context } from 'koa';
import { AccountInputError, changePassword } from '../storage/account_store.ts';
import { type AccountPages, field, render, user } from './account_steps.ts';
import { startSession } from './account_sign_in.ts';
import { connectedApps } from './connected_apps.ts';
import { csrfToken } from './csrf.ts';
import { checkPassword } from './sign_in.ts';
import {
  confirmDisconnectAllPage,
  confirmDisconnectPage,
  type ConnectedAppView,
  passwordChangedPage,
  passwordPage,
  revokedPage,
} from './views/account_pages.ts';

/** The signed-in user's app named in the path; someone else's grant and no grant at all look the same (404). */
async function connectedApp(pages: AccountPages, ctx: Context): Promise<ConnectedAppView> {
  const [app] = await connectedApps(pages, user(ctx).account.id, String(ctx.params.grantId));
  if (!app) ctx.throw(404, 'This app is not connected to your account.');
  return app;
}

export function confirmDisconnectHandler(pages: AccountPages) {
  return async function confirmDisconnect(ctx: Context): Promise<void> {
    render(ctx, confirmDisconnectPage({ app: await connectedApp(pages, ctx), csrf: csrfToken(ctx) }));
  };
}

export function disconnectHandler(pages: AccountPages) {
  return async function disconnect(ctx: Context): Promise<void> {
    const { account } = user(ctx);
    const app = await connectedApp(pages, ctx);
    const outcome = await pages.revocation.revokeGrant(app.grantId, {
      actor: { type: 'user', id: account.id },
      reason: 'disconnected by the user on the account page',
    });
    render(ctx, revokedPage({ heading: `${app.name} is disconnected`, counts: outcome.counts }));
  };
}

export function confirmDisconnectAllHandler(pages: AccountPages) {
  return async function confirmDisconnectAll(ctx: Context): Promise<void> {
    const apps = await connectedApps(pages, user(ctx).account.id);
    if (apps.length === 0) {
      ctx.status = 303;
      ctx.redirect('/account');
      return;
    }
    render(ctx, confirmDisconnectAllPage({ apps, csrf: csrfToken(ctx) }));
  };
}

export function disconnectAllHandler({ revocation }: AccountPages) {
  return async function disconnectAll(ctx: Context): Promise<void> {
    const { account } = user(ctx);
    const outcome = await revocation.revokeAccount(account.id, {
      actor: { type: 'user', id: account.id },
      reason: 'user disconnected all apps on the account page',
      keepSessions: true,
    });
    render(ctx, revokedPage({ heading: 'All apps are disconnected', counts: outcome.counts }));
  };
}

export function passwordFormHandler() {
  return function passwordForm(ctx: Context): void {
    render(ctx, passwordPage({ csrf: csrfToken(ctx) }));
  };
}

export function changePasswordHandler(pages: AccountPages) {
  return async function changePasswordForm(ctx: Context): Promise<void> {
    const { account } = user(ctx);
    const current = field(ctx, 'current_password') ?? '';
    const next = field(ctx, 'new_password') ?? '';
    const again = field(ctx, 'confirm_password') ?? '';
    const refuse = (error: string, status = 400) => render(ctx, passwordPage({ csrf: csrfToken(ctx), error }), status);
    // A stolen session must not make the current password guessable: the sign-in limits apply.
    const check = await checkPassword(ctx, pages, account.email, current);
    if (check.outcome === 'refused') return refuse(`Too many failed attempts. Try again in ${check.retryAfter} seconds.`, 429);
    if (check.outcome === 'wrong') return refuse('Your current password is not correct.', 401);
    if (next !== again) return refuse('The two new passwords do not match.');
    if (next === current) return refuse('The new password must differ from the current one.');
    try {
      await changePassword(pages.db, account.id, next);
    } catch (error) {
      if (error instanceof AccountInputError) return refuse(`The new ${error.message}.`);
      throw error;
    }
    const actor = { type: 'user', id: account.id } as const;
    // Whoever else is signed in with the old password is signed out, this browser included; apps keep
    // their access unless the user chooses to disconnect them too...
    const disconnectApps = field(ctx, 'revoke_apps') === 'yes';
    const outcome = disconnectApps
      ? await pages.revocation.revokeAccount(account.id, { actor, reason: 'user changed their password and chose to disconnect all apps' })
      : await pages.revocation.endSessions(account.id, { actor, reason: 'user changed their password' });
    // ...and this browser, which just proved the password, gets a new session.
    await startSession(pages, ctx, account.id);
    render(ctx, passwordChangedPage({ counts: disconnectApps ? outcome.counts : undefined }));
  };
}
