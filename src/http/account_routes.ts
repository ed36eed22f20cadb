// The account pages: a signed-in user sees the apps holding access to their account and disconnects
// them, signs out, changes their password. Each route is a list of named steps; sign-in and sign-out
// live in account_sign_in.ts, the signed-in forms in account_forms.ts, the apps view in connected_apps.ts.
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { type SignInLimiter, unlimitedSignIns } from '../accounts/sign_in_limiter.ts';
import type { SelfService } from '../accounts/self_service.ts';
import type { Database } from '../db/connect.ts';
import type { RevocationService } from '../revocation/revocation_service.ts';
import {
  changePasswordHandler,
  confirmDisconnectAllHandler,
  confirmDisconnectHandler,
  disconnectAllHandler,
  disconnectHandler,
  passwordFormHandler,
} from './account_forms.ts';
import { deleteAccountFormHandler, deleteAccountHandler } from './account_delete.ts';
import {
  confirmEmailFormHandler,
  confirmEmailHandler,
  forgotPasswordFormHandler,
  forgotPasswordHandler,
  resetPasswordFormHandler,
  resetPasswordHandler,
  signUpFormHandler,
  selfServiceLinks,
  signUpHandler,
} from './account_self_service.ts';
import { signInHandler, signOutHandler } from './account_sign_in.ts';
import { type AccountPages, accountPages, noCaching, render, signedIn } from './account_steps.ts';
import { connectedApps } from './connected_apps.ts';
import { csrfToken } from './csrf.ts';
import { accountPage, accountSignInPage } from './views/account_pages.ts';
import { accountLinks, deleteAccountLink } from './views/self_service_pages.ts';
import type { UpstreamChoice } from './views/upstream_pages.ts';

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
  /** Sign-up, verification, password reset (each as its setting says); none: those pages answer 404. */
  selfService?: SelfService | undefined;
  /** "Sign in with …" buttons on the sign-in form (src/http/upstream_routes.ts serves them). */
  upstreams?: UpstreamChoice[] | undefined;
}

export function accountRoutes({ logins = unlimitedSignIns, ...dependencies }: AccountRouteDependencies): Router {
  const pages = accountPages({ ...dependencies, logins });
  const { form, requireUser } = pages;
  const router = new Router({ prefix: '/account' });
  router.use(noCaching);
  router.get('/', homeHandler(pages));
  router.post('/sign-in', ...form, signInHandler(pages));
  router.post('/sign-out', ...form, signOutHandler(pages));
  router.get('/apps/:grantId/disconnect', requireUser, confirmDisconnectHandler(pages));
  router.post('/apps/:grantId/disconnect', ...form, requireUser, disconnectHandler(pages));
  router.get('/disconnect-all', requireUser, confirmDisconnectAllHandler(pages));
  router.post('/disconnect-all', ...form, requireUser, disconnectAllHandler(pages));
  router.get('/password', requireUser, passwordFormHandler());
  router.post('/password', ...form, requireUser, changePasswordHandler(pages));
  router.get('/delete', requireUser, deleteAccountFormHandler());
  router.post('/delete', ...form, requireUser, deleteAccountHandler(pages));
  selfServiceRoutes(router, pages);
  return router;
}

/** Sign-up, email verification, forgotten password (src/http/account_self_service.ts). */
function selfServiceRoutes(router: Router, pages: AccountPages): void {
  const { form } = pages;
  router.get('/sign-up', signUpFormHandler(pages));
  router.post('/sign-up', ...form, signUpHandler(pages));
  router.get('/verify-email', confirmEmailFormHandler());
  router.post('/verify-email', ...form, confirmEmailHandler(pages));
  router.get('/forgot-password', forgotPasswordFormHandler(pages));
  router.post('/forgot-password', ...form, forgotPasswordHandler(pages));
  router.get('/reset-password', resetPasswordFormHandler(pages));
  router.post('/reset-password', ...form, resetPasswordHandler(pages));
}

/** The sign-in form, or once signed in the connected apps. */
function homeHandler(pages: AccountPages) {
  return async function home(ctx: Context): Promise<void> {
    const user = await signedIn(pages, ctx);
    if (!user) return render(ctx, accountSignInPage({ csrf: csrfToken(ctx), links: accountLinks(selfServiceLinks(pages.selfService)), upstreams: pages.upstreams }));
    render(
      ctx,
      accountPage({ email: user.account.email, apps: await connectedApps(pages, user.account.id), csrf: csrfToken(ctx), deleteLink: deleteAccountLink() }),
    );
  };
}
