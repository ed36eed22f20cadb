// Sign-in with an upstream OpenID provider, for the login step of an interaction or on /account:
//   POST /interaction/:uid/upstream/:upstream  starts it (PKCE, state, nonce), remembered server-side
//   POST /account/upstream/:upstream           and bound to this browser, then sends the browser there;
//   GET  /upstream/:upstream/callback           the upstream's answer: checked, linked to an account,
//                                              and handed back to the provider as the login result
//                                              (or, for /account, a browser session started).
// Anything that goes wrong is a readable page with the way back to the sign-in page.
import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import { type UpstreamAccount, upstreamAccount } from '../federation/upstream_accounts.ts';
import { type UpstreamClient, UpstreamFailure } from '../federation/upstream_client.ts';
import type { Logger } from '../logger.ts';
import { hashTokenValue } from '../storage/token_hash.ts';
import { consumePendingSignIn, savePendingSignIn } from '../storage/upstream_sign_in_store.ts';
import { startSession } from './account_sign_in.ts';
import type { AccountPages } from './account_steps.ts';
import { noStore } from './security_headers.ts';
import { type UpstreamProblemInput, upstreamProblemPage } from './views/upstream_pages.ts';

export interface UpstreamRouteDependencies {
  provider: Provider;
  db: Database;
  upstreams: UpstreamClient[];
  logger: Logger;
  /** The account pages, whose sign-in form offers the upstreams too. */
  account: AccountPages;
}

/** Holds the value that binds a sign-in in flight to the browser that started it. */
const BINDING_COOKIE = 'portcullis.upstream';
/** Seconds a started upstream sign-in may take (never longer than its interaction). */
const SIGN_IN_TTL = 10 * 60;

export function upstreamRoutes({ provider, db, upstreams, logger, account: accountPages }: UpstreamRouteDependencies): Router {
  const router = new Router();
  const byId = new Map(upstreams.map((client) => [client.provider.id, client]));

  function problem(ctx: Context, status: number, input: UpstreamProblemInput): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = upstreamProblemPage(input);
  }

  function upstreamOf(ctx: Context): UpstreamClient | undefined {
    const client = byId.get(String(ctx.params.upstream));
    if (!client) problem(ctx, 404, { title: 'Unknown sign-in option', message: 'This server offers no such way to sign in.', hint: 'Go back and choose one of the options on the sign-in page.' });
    return client;
  }

  function bindingCookiePath(client: UpstreamClient): string {
    return new URL(client.redirectUri).pathname;
  }

  /** Sends the browser to the upstream, the sign-in remembered for the callback (until `endsAt` at the latest). */
  async function begin(ctx: Context, client: UpstreamClient, interactionUid: string | undefined, endsAt: number): Promise<void> {
    let authorization;
    try {
      authorization = await client.authorization();
    } catch (error) {
      if (!(error instanceof UpstreamFailure)) throw error;
      logger.warn({ upstream: client.provider.id, kind: error.kind, code: error.code, reason: error.message }, 'upstream sign-in could not start');
      return problem(ctx, 502, failurePage(client, error, retryFor(interactionUid)));
    }
    const binding = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Math.min(endsAt, Date.now() + SIGN_IN_TTL * 1000));
    await savePendingSignIn(db, authorization.state, {
      interactionUid,
      upstreamId: client.provider.id,
      bindingHash: hashTokenValue(binding),
      codeVerifier: authorization.codeVerifier,
      nonce: authorization.nonce,
      expiresAt,
    });
    ctx.cookies.set(BINDING_COOKIE, binding, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      path: bindingCookiePath(client),
      expires: expiresAt,
      overwrite: true,
    });
    ctx.status = 303;
    ctx.redirect(authorization.url.href);
  }

  router.post('/interaction/:uid/upstream/:upstream', async (ctx) => {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    noStore(ctx);
    const client = upstreamOf(ctx);
    if (!client) return;
    if (interaction.prompt.name !== 'login') {
      ctx.status = 303;
      ctx.redirect(`/interaction/${interaction.uid}`);
      return;
    }
    await begin(ctx, client, interaction.uid, interaction.exp * 1000);
  });

  router.post('/account/upstream/:upstream', ...accountPages.form, async (ctx) => {
    noStore(ctx);
    const client = upstreamOf(ctx);
    if (!client) return;
    await begin(ctx, client, undefined, Date.now() + SIGN_IN_TTL * 1000);
  });

  router.get('/upstream/:upstream/callback', async (ctx) => {
    noStore(ctx);
    const client = upstreamOf(ctx);
    if (!client) return;
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const pending = state ? await consumePendingSignIn(db, state) : undefined;
    if (!pending || pending.upstreamId !== client.provider.id) {
      return problem(ctx, 400, {
        title: 'Sign-in expired',
        message: `This answer from ${client.provider.displayName} does not belong to a sign-in in progress: it has expired, was used already, or was altered.`,
        hint: 'Go back to the application and sign in again.',
      });
    }
    const binding = ctx.cookies.get(BINDING_COOKIE, { signed: true });
    ctx.cookies.set(BINDING_COOKIE, null, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: bindingCookiePath(client), overwrite: true });
    if (!binding || hashTokenValue(binding) !== pending.bindingHash) {
      return problem(ctx, 400, {
        title: 'Sign-in started elsewhere',
        message: 'This sign-in was started in another browser or tab, so it cannot finish here.',
        hint: 'Start the sign-in again from this page.',
        retry: retryFor(pending.interactionUid),
      });
    }
    let account: UpstreamAccount;
    try {
      const user = await client.complete(ctx.querystring, { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier });
      account = await upstreamAccount(db, client.provider, user);
    } catch (error) {
      if (!(error instanceof UpstreamFailure)) throw error;
      logger.warn({ upstream: client.provider.id, kind: error.kind, code: error.code, reason: error.message }, 'upstream sign-in failed');
      return problem(ctx, error.kind === 'refused' ? 403 : 502, failurePage(client, error, retryFor(pending.interactionUid)));
    }
    if (account.outcome !== 'signed-in') {
      logger.info({ upstream: client.provider.id, outcome: account.outcome }, 'upstream sign-in refused');
      return problem(ctx, 403, refusalPage(client, account, retryFor(pending.interactionUid)));
    }
    if (account.created) logger.info({ upstream: client.provider.id, accountId: account.account.id }, 'account created by upstream sign-in');
    if (pending.interactionUid === undefined) {
      await startSession(accountPages, ctx, account.account.id);
      ctx.status = 303;
      ctx.redirect('/account');
      return;
    }
    const interaction = await provider.Interaction.find(pending.interactionUid);
    if (!interaction) throw new errors.SessionNotFound('interaction session not found');
    // What provider.interactionResult does, by uid: the interaction cookie is scoped to /interaction/<uid>.
    interaction.result = { login: { accountId: account.account.id } };
    await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
    ctx.status = 303;
    ctx.redirect(interaction.returnTo);
  });

  return router;
}

/** Where a failed sign-in starts again: its interaction's login page, or the /account sign-in. */
function retryFor(interactionUid: string | undefined): string {
  return interactionUid === undefined ? '/account' : `/interaction/${interactionUid}`;
}

function failurePage(client: UpstreamClient, failure: UpstreamFailure, retry: string): UpstreamProblemInput {
  const name = client.provider.displayName;
  if (failure.kind === 'refused') {
    return {
      title: 'Sign-in not completed',
      message: `${name} did not sign you in (${failure.code ?? 'refused'}).`,
      hint: 'You may have cancelled there. Try again, or choose another way to sign in.',
      retry,
    };
  }
  if (failure.kind === 'unreachable') {
    return { title: `${name} is unavailable`, message: `${name} could not be reached or did not answer properly.`, hint: 'Try again in a moment, or choose another way to sign in.', retry };
  }
  return {
    title: 'Sign-in not completed',
    message: `The answer from ${name} failed a security check${failure.code ? ` (${failure.code})` : ''}, so you are not signed in.`,
    hint: 'Try again; if it keeps happening, tell the operator of this service.',
    retry,
  };
}

function refusalPage(client: UpstreamClient, refusal: Exclude<UpstreamAccount, { outcome: 'signed-in' }>, retry: string): UpstreamProblemInput {
  const name = client.provider.displayName;
  switch (refusal.outcome) {
    case 'disabled':
      return { title: 'Account disabled', message: 'The account linked to your identity is disabled.', hint: 'Ask the operator of this service to enable it.', retry };
    case 'no-account':
      return {
        title: 'No account',
        message: `There is no account here for your ${name} identity.`,
        hint: `Ask the operator of this service to create one for you (tell them: ${name} identity ${refusal.subject}), or choose another way to sign in.`,
        retry,
      };
    case 'no-email':
      return {
        title: 'No account',
        message: `${name} did not share a verified email address, which a new account here needs.`,
        hint: `Check the email address of your ${name} account, or ask the operator of this service.`,
        retry,
      };
    case 'email-taken':
      return {
        title: 'Account not linked',
        message: `An account with the email ${refusal.email} exists here, but it is not linked to your ${name} identity.`,
        hint: 'Sign in the way you did before, or ask the operator of this service to link the two.',
        retry,
      };
  }
}
