// The account pages: a signed-in user sees the apps holding access to their account and disconnects
// them, signs out, changes their password. "Signed in" is the provider's own browser session (the
// one login and consent use), so signing in here also skips the login step of a later /authorize.
// Every revocation goes through the revocation service, audited as done by the user.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import {
  type Account,
  AccountInputError,
  authenticate,
  changePassword,
  findAccountById,
} from '../accounts/account_store.ts';
import type { Database } from '../db/connect.ts';
import type { RevocationService } from '../revocation/revocation_service.ts';
import { connectedApps } from './connected_apps.ts';
import { csrfToken, verifyCsrf } from './csrf.ts';
import { noStore } from './security_headers.ts';
import { type SignInLimiter, unlimitedSignIns } from '../accounts/sign_in_limiter.ts';
import {
  accountPage,
  accountSignedOutPage,
  accountSignInPage,
  confirmDisconnectAllPage,
  confirmDisconnectPage,
  type ConnectedAppView,
  passwordChangedPage,
  passwordPage,
  revokedPage,
} from './views/account_pages.ts';

export interface AccountRouteDependencies {
  provider: Provider;
  db: Database;
  revocation: RevocationService;
  /** Our origin: a form POST whose Origin header names another is refused. */
  issuer: string;
  /** Lifetime of a browser session started here, in seconds (the provider's ttl.Session). */
  sessionTtl: number;
  /** Failed sign-in limits per account and address, shared with the login form (429), here for the
   *  sign-in and the current password of a password change; none when absent. */
  logins?: SignInLimiter | undefined;
}

type Session = Awaited<ReturnType<Provider['Session']['get']>>;

interface SignedIn {
  session: Session;
  account: Account;
}

const formBody = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

export function accountRoutes({ provider, db, revocation, issuer, sessionTtl, logins = unlimitedSignIns }: AccountRouteDependencies): Router {
  const router = new Router({ prefix: '/account' });
  const origin = new URL(issuer).origin;
  const sessionCookie = provider.cookieName('session');

  // --- steps shared by the routes -------------------------------------------------------------

  async function noCaching(ctx: Context, next: Next): Promise<void> {
    noStore(ctx);
    await next();
  }

  function checkCsrf(ctx: Context, next: Next): Promise<void> {
    verifyCsrf(ctx, field(ctx, 'csrf'), origin);
    return next();
  }

  async function signedIn(ctx: Context): Promise<SignedIn | undefined> {
    const session = await provider.Session.get(ctx);
    if (!session.accountId) return undefined;
    const account = await findAccountById(db, session.accountId);
    return account ? { session, account } : undefined;
  }

  /** Loads the signed-in user into ctx.state.user, or sends the browser to the sign-in form. */
  async function requireUser(ctx: Context, next: Next): Promise<void> {
    const user = await signedIn(ctx);
    if (!user) {
      ctx.status = 303;
      ctx.redirect('/account');
      return;
    }
    ctx.state.user = user;
    await next();
  }

  /** Starts (or restarts, under a new id) the provider's session for this browser. */
  async function startSession(ctx: Context, accountId: string): Promise<void> {
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

  async function connectedApp(ctx: Context): Promise<ConnectedAppView> {
    const { account } = ctx.state.user as SignedIn;
    const [app] = await connectedApps(db, account.id, String(ctx.params.grantId));
    // Someone else's grant and no grant at all look the same.
    if (!app) ctx.throw(404, 'This app is not connected to your account.');
    return app;
  }

  function render(ctx: Context, body: string, status = 200): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = body;
  }

  router.use(noCaching);

  // --- the pages ------------------------------------------------------------------------------

  router.get('/', async (ctx) => {
    const user = await signedIn(ctx);
    if (!user) return render(ctx, accountSignInPage({ csrf: csrfToken(ctx) }));
    render(ctx, accountPage({ email: user.account.email, apps: await connectedApps(db, user.account.id), csrf: csrfToken(ctx) }));
  });

  router.post('/sign-in', formBody, checkCsrf, async (ctx) => {
    const email = field(ctx, 'email');
    const password = field(ctx, 'password');
    const attempt = email ? await logins.attempt(email, ctx.ip, async () => (password ? authenticate(db, email, password) : undefined)) : undefined;
    if (attempt?.refused) {
      ctx.set('Retry-After', String(attempt.retryAfter));
      const error = `Too many failed sign-in attempts. Try again in ${attempt.retryAfter} seconds.`;
      return render(ctx, accountSignInPage({ csrf: csrfToken(ctx), email, error }), 429);
    }
    const account = attempt?.result;
    if (!account) {
      return render(ctx, accountSignInPage({ csrf: csrfToken(ctx), email, error: 'Wrong email or password.' }), 401);
    }
    await startSession(ctx, account.id);
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/sign-out', formBody, checkCsrf, async (ctx) => {
    const session = await provider.Session.get(ctx);
    // Ends the browser session only: connected apps hold their own grants and keep them.
    if (!(session as { new?: boolean }).new) await session.destroy();
    ctx.cookies.set(sessionCookie, null, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    render(ctx, accountSignedOutPage());
  });

  router.get('/apps/:grantId/disconnect', requireUser, async (ctx) => {
    render(ctx, confirmDisconnectPage({ app: await connectedApp(ctx), csrf: csrfToken(ctx) }));
  });

  router.post('/apps/:grantId/disconnect', formBody, checkCsrf, requireUser, async (ctx) => {
    const { account } = ctx.state.user as SignedIn;
    const app = await connectedApp(ctx);
    const outcome = await revocation.revokeGrant(app.grantId, {
      actor: { type: 'user', id: account.id },
      reason: 'disconnected by the user on the account page',
    });
    render(ctx, revokedPage({ heading: `${app.name} is disconnected`, counts: outcome.counts }));
  });

  router.get('/disconnect-all', requireUser, async (ctx) => {
    const { account } = ctx.state.user as SignedIn;
    const apps = await connectedApps(db, account.id);
    if (apps.length === 0) {
      ctx.status = 303;
      ctx.redirect('/account');
      return;
    }
    render(ctx, confirmDisconnectAllPage({ apps, csrf: csrfToken(ctx) }));
  });

  router.post('/disconnect-all', formBody, checkCsrf, requireUser, async (ctx) => {
    const { account } = ctx.state.user as SignedIn;
    const outcome = await revocation.revokeAccount(account.id, {
      actor: { type: 'user', id: account.id },
      reason: 'user disconnected all apps on the account page',
      keepSessions: true,
    });
    render(ctx, revokedPage({ heading: 'All apps are disconnected', counts: outcome.counts }));
  });

  router.get('/password', requireUser, (ctx) => {
    render(ctx, passwordPage({ csrf: csrfToken(ctx) }));
  });

  router.post('/password', formBody, checkCsrf, requireUser, async (ctx) => {
    const { account } = ctx.state.user as SignedIn;
    const current = field(ctx, 'current_password') ?? '';
    const next = field(ctx, 'new_password') ?? '';
    const again = field(ctx, 'confirm_password') ?? '';
    const refuse = (error: string, status = 400) => render(ctx, passwordPage({ csrf: csrfToken(ctx), error }), status);
    // A stolen session must not make the current password guessable: the sign-in limits apply.
    const attempt = await logins.attempt(account.email, ctx.ip, () => authenticate(db, account.email, current));
    if (attempt.refused) {
      ctx.set('Retry-After', String(attempt.retryAfter));
      return refuse(`Too many failed attempts. Try again in ${attempt.retryAfter} seconds.`, 429);
    }
    if (!attempt.result) return refuse('Your current password is not correct.', 401);
    if (next !== again) return refuse('The two new passwords do not match.');
    if (next === current) return refuse('The new password must differ from the current one.');
    try {
      await changePassword(db, account.id, next);
    } catch (error) {
      if (error instanceof AccountInputError) return refuse(`The new ${error.message}.`);
      throw error;
    }
    const actor = { type: 'user', id: account.id } as const;
    // Whoever else is signed in with the old password is signed out, this browser included; apps keep
    // their access unless the user chooses to disconnect them too...
    const disconnectApps = field(ctx, 'revoke_apps') === 'yes';
    const outcome = disconnectApps
      ? await revocation.revokeAccount(account.id, { actor, reason: 'user changed their password and chose to disconnect all apps' })
      : await revocation.endSessions(account.id, { actor, reason: 'user changed their password' });
    // ...and this browser, which just proved the password, gets a new session.
    await startSession(ctx, account.id);
    render(ctx, passwordChangedPage({ counts: disconnectApps ? outcome.counts : undefined }));
  });

  return router;
}

/** One single-valued text field of a parsed form; anything else counts as missing. */
function field(ctx: Context, name: string): string | undefined {
  const body = (ctx.request as { body?: unknown }).body;
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
