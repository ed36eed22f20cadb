// Login and consent: the provider hands the browser to /interaction/:uid, we render a form, and
// hand the result back with interactionResult. Shape follows node-oidc-provider's example/routes/koa.js.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { findAccountById } from '../storage/account_store.ts';
import type { Database } from '../db/connect.ts';
import { describeScope } from '../scopes.ts';
import { findRegisteredResource } from '../resources/resource_registry.ts';
import { clientIdentity, describeClient } from './client_identity.ts';
import { consentPage, loginPage } from './views/interaction_pages.ts';
import type { UpstreamChoice } from './views/upstream_pages.ts';
import { noStore } from './security_headers.ts';
import { checkPassword, signInFailure } from './sign_in.ts';
import { type SignInLimiter, unlimitedSignIns } from '../accounts/sign_in_limiter.ts';
import type { SelfService } from '../accounts/self_service.ts';
import { selfServiceLinks } from './account_self_service.ts';
import { accountLinks } from './views/self_service_pages.ts';

export interface InteractionDependencies {
  provider: Provider;
  db: Database;
  /** Failed sign-in limits per account and address (429); none when absent. */
  logins?: SignInLimiter | undefined;
  /** Sign-up and password reset, linked from the login page; unverified accounts are mailed their link again. */
  selfService?: SelfService | undefined;
  /** What the login page offers; default: the password form only. */
  signIn?: LoginOptions | undefined;
}

export interface LoginOptions {
  /** The email and password form (PASSWORD_SIGN_IN). */
  password: boolean;
  /** "Sign in with …" buttons (src/http/upstream_routes.ts). */
  upstreams: UpstreamChoice[];
}

const formBody = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export function interactionRoutes({ provider, db, logins = unlimitedSignIns, selfService, signIn = { password: true, upstreams: [] } }: InteractionDependencies): Router {
  const router = new Router({ prefix: '/interaction/:uid' });

  async function details(ctx: Context): Promise<Details> {
    const found = await provider.interactionDetails(ctx.req, ctx.res);
    noStore(ctx);
    return found;
  }

  /** For the sign-in page: the client's name, with where it comes from. */
  async function clientName(clientId: unknown): Promise<string> {
    if (typeof clientId !== 'string') return 'An application';
    return describeClient(clientIdentity(await provider.Client.find(clientId), clientId, undefined));
  }

  /** Sign-up and forgotten password, each leading back to this login step. */
  function loginLinks(uid: string) {
    return accountLinks(selfServiceLinks(selfService, `/interaction/${uid}`));
  }

  async function finish(ctx: Context, result: InteractionResults, merge: boolean): Promise<void> {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.redirect(redirectTo);
    ctx.status = 303;
  }

  router.get('/', async (ctx) => {
    const interaction = await details(ctx);
    const name = await clientName(interaction.params.client_id);
    ctx.type = 'html';
    if (interaction.prompt.name === 'login') {
      ctx.body = loginPage({ uid: interaction.uid, clientName: name, links: loginLinks(interaction.uid), upstreams: signIn.upstreams, passwordForm: signIn.password });
      return;
    }
    const accountId = interaction.session?.accountId;
    const account = accountId ? await findAccountById(db, accountId) : undefined;
    const clientId = String(interaction.params.client_id);
    const client = await provider.Client.find(clientId);
    const missing = interaction.prompt.details as ConsentDetails;
    const resourceScopes = Object.entries(missing.missingResourceScopes ?? {});
    // Each resource's scopes are described as that resource registered them, and named by it.
    const resources = await Promise.all(resourceScopes.map(async ([url]) => ({ url, registered: await findRegisteredResource(db, url) })));
    const descriptions = new Map(resources.flatMap(({ registered }) => registered?.scopes.map((scope) => [scope.name, scope.description] as const) ?? []));
    const oidcScopes = new Set(missing.missingOIDCScope ?? []);
    ctx.body = consentPage({
      uid: interaction.uid,
      client: clientIdentity(client, clientId, interaction.params.redirect_uri),
      accountEmail: account?.email ?? 'unknown account',
      resource: resources.map(({ url }) => url).join(', ') || undefined,
      resourceName: resources.map(({ url, registered }) => registered?.name ?? url).join(', ') || undefined,
      scopes: [...new Set([...oidcScopes, ...resourceScopes.flatMap(([, scopes]) => scopes)])].map((name) => ({
        name,
        description: descriptions.get(name) ?? describeScope(name),
      })),
    });
  });

  router.post('/login', formBody, async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') {
      ctx.redirect(`/interaction/${interaction.uid}`);
      ctx.status = 303;
      return;
    }
    if (!signIn.password) {
      ctx.status = 403;
      ctx.type = 'html';
      ctx.body = loginPage({ uid: interaction.uid, clientName: await clientName(interaction.params.client_id), upstreams: signIn.upstreams, passwordForm: false, error: 'Password sign-in is turned off here.' });
      return;
    }
    const { email, password } = formFields(ctx, ['email', 'password']);
    const check = await checkPassword(ctx, { db, logins, selfService }, email, password);
    if (check.outcome !== 'signed-in') {
      const { status, error } = signInFailure(check);
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = loginPage({
        uid: interaction.uid,
        clientName: await clientName(interaction.params.client_id),
        email,
        error,
        links: loginLinks(interaction.uid),
        upstreams: signIn.upstreams,
        passwordForm: signIn.password,
      });
      return;
    }
    await finish(ctx, { login: { accountId: check.account.id } }, false);
  });

  router.post('/confirm', formBody, async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'consent' || !interaction.session) {
      ctx.redirect(`/interaction/${interaction.uid}`);
      ctx.status = 303;
      return;
    }
    const missing = interaction.prompt.details as ConsentDetails;
    const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
    const grant =
      existing ?? new provider.Grant({ accountId: interaction.session.accountId, clientId: String(interaction.params.client_id) });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await finish(ctx, { consent: { grantId } }, true);
  });

  router.post('/abort', formBody, async (ctx) => {
    await details(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  });

  return router;
}

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** Reads single-valued text fields from a parsed form; anything else counts as missing. */
function formFields<K extends string>(ctx: Context, names: K[]): Partial<Record<K, string>> {
  const body = (ctx.request as { body?: unknown }).body;
  const fields: Partial<Record<K, string>> = {};
  if (!body || typeof body !== 'object') return fields;
  for (const name of names) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value === 'string') fields[name] = value;
  }
  return fields;
}
