// Steps the account pages share: the signed-in user (the provider's own browser session, the one
// login and consent use), CSRF-checked form bodies, no caching, rendering a page.
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import { type Account, findAccountById } from '../storage/account_store.ts';
import type { SelfService } from '../accounts/self_service.ts';
import type { SignInLimiter } from '../accounts/sign_in_limiter.ts';
import type { Database } from '../db/connect.ts';
import type { RevocationService } from '../revocation/revocation_service.ts';
import { verifyCsrf } from './csrf.ts';
import { noStore } from './security_headers.ts';
import type { UpstreamChoice } from './views/upstream_pages.ts';

type Session = Awaited<ReturnType<Provider['Session']['get']>>;

export interface SignedIn {
  session: Session;
  account: Account;
}

/** What the account pages' handlers need, built once per router. */
export interface AccountPages {
  provider: Provider;
  db: Database;
  revocation: RevocationService;
  logins: SignInLimiter;
  /** Sign-up, verification and password reset; none: those pages answer 404. */
  selfService?: SelfService | undefined;
  /** Lifetime of a browser session started here, in seconds. */
  sessionTtl: number;
  /** The provider's session cookie name. */
  sessionCookie: string;
  /** Parses a form body and refuses it without this browser's CSRF token or from another origin. */
  form: Middleware[];
  /** Upstream providers the sign-in form offers (src/http/upstream_routes.ts); none when absent. */
  upstreams?: UpstreamChoice[] | undefined;
  /** Loads the signed-in user into ctx.state.user, or sends the browser to the sign-in form. */
  requireUser: Middleware;
}

export function accountPages(dependencies: Omit<AccountPages, 'sessionCookie' | 'form' | 'requireUser'> & { issuer: string }): AccountPages {
  const { issuer, ...rest } = dependencies;
  const origin = new URL(issuer).origin;
  const checkCsrf = (ctx: Context, next: Next) => {
    verifyCsrf(ctx, field(ctx, 'csrf'), origin);
    return next();
  };
  const pages: AccountPages = {
    ...rest,
    sessionCookie: rest.provider.cookieName('session'),
    form: [formBody, checkCsrf],
    async requireUser(ctx, next) {
      const user = await signedIn(pages, ctx);
      if (!user) {
        ctx.status = 303;
        ctx.redirect('/account');
        return;
      }
      ctx.state.user = user;
      await next();
    },
  };
  return pages;
}

const formBody = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

export async function noCaching(ctx: Context, next: Next): Promise<void> {
  noStore(ctx);
  await next();
}

/** The user of this browser's provider session, if it names an account that still exists. */
export async function signedIn({ provider, db }: AccountPages, ctx: Context): Promise<SignedIn | undefined> {
  const session = await provider.Session.get(ctx);
  if (!session.accountId) return undefined;
  const account = await findAccountById(db, session.accountId);
  return account ? { session, account } : undefined;
}

/** The user requireUser loaded. */
export function user(ctx: Context): SignedIn {
  return ctx.state.user as SignedIn;
}

export function render(ctx: Context, body: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = body;
}

/** One single-valued text field of a parsed form; anything else counts as missing. */
export function field(ctx: Context, name: string): string | undefined {
  const body = (ctx.request as { body?: unknown }).body;
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
