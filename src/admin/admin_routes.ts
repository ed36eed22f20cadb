// The admin API: the operators' revocation controls over HTTP. It is a resource server of our own
// provider: callers present client-credentials tokens for `$ISSUER/admin` with scope `admin`,
// checked by the shared token verifier. Every operation is one call into the operator operations
// (targets checked as the CLI checks them) or the revocation service.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import { AccountExistsError, AccountInputError } from '../storage/account_store.ts';
import { inviteAccount } from '../accounts/self_service.ts';
import type { Database } from '../db/connect.ts';
import { oauthErrorAnswer } from '../http/error_answers.ts';
import { OperatorTargetNotFound, operatorOperations } from '../revocation/operator_operations.ts';
import { type RevocationOptions, type RevocationService, RevocationTargetNotFound } from '../revocation/revocation_service.ts';
import { listAudit } from '../storage/audit_store.ts';
import { listClients } from '../storage/client_store.ts';
import { listGrants } from '../storage/grant_store.ts';
import { type AccessTokenVerifier, InvalidTokenError, VerificationUnavailable } from '../tokens/access_token_verifier.ts';
import { InvalidDpopProof } from '../tokens/dpop_proof.ts';
import { ADMIN_SCOPE, DPOP_SIGNING_ALGS } from '../scopes.ts';
import { presentedScheme, requestTokenAuthenticator, tokenRequest } from '../tokens/request_token.ts';
import { adminOpenApi } from './openapi.ts';
import { InvalidResourceDefinition } from '../resources/resource_definition.ts';
import { ResourceAlreadyRegistered, type ResourceOperations, resourceJson } from './resource_operations.ts';

export interface AdminDependencies {
  db: Database;
  revocation: RevocationService;
  verifier: AccessTokenVerifier;
  /** `$ISSUER/admin`, named in WWW-Authenticate challenges. */
  resource: string;
  /** Invitation links start here. */
  issuer: string;
  /** The resource registry's operations (`portcullis resources ...`). */
  resources: ResourceOperations;
}

class AdminError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const revocationBody = z
  .object({
    reason: z.string().max(500).optional(),
    dry_run: z.boolean().optional(),
  })
  .strict();

const bodies = {
  revoke: revocationBody,
  revokeClient: revocationBody.extend({ accounts: z.array(z.string().min(1).max(320)).max(1000).optional() }).strict(),
  revokeAccount: revocationBody.extend({ client_id: z.string().min(1).max(2048).optional() }).strict(),
  revokeToken: revocationBody.extend({ token: z.string().min(1).max(4096) }).strict(),
  invitation: z.object({ email: z.string().min(1).max(320) }).strict(),
  // Shapes only: what the values may be is checked by the resource operations, for the CLI alike.
  addResource: z
    .object({
      resource: z.string().min(1).max(2048),
      name: z.string().max(1000),
      scopes: z.array(z.object({ name: z.string().max(1000), description: z.string().max(1000) }).strict()).max(1000),
      access_token_ttl: z.number().optional(),
    })
    .strict(),
  updateResource: z
    .object({
      name: z.string().max(1000).optional(),
      scopes: z.array(z.object({ name: z.string().max(1000), description: z.string().max(1000) }).strict()).max(1000).optional(),
      access_token_ttl: z.number().nullable().optional(),
    })
    .strict(),
};

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new AdminError(400, 'invalid_request', problems.join('; '));
  }
  return parsed.data;
}

export function adminRoutes({ db, revocation, verifier, resource, issuer, resources }: AdminDependencies): Router {
  const router = new Router({ prefix: '/admin' });
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' });
  const operations = operatorOperations(db, revocation);
  // Operator tokens may be DPoP-bound (client credentials with a DPoP proof): the same check as the MCP server's.
  const authenticateRequestToken = requestTokenAuthenticator({ verifier, db });

  async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const failure =
        error instanceof AdminError
          ? error
          : error instanceof InvalidResourceDefinition
            ? new AdminError(400, 'invalid_request', error.message)
            : error instanceof ResourceAlreadyRegistered
              ? new AdminError(409, 'conflict', error.message)
              : error instanceof OperatorTargetNotFound || error instanceof RevocationTargetNotFound
            ? new AdminError(404, 'not_found', error.message)
            : error instanceof AccountInputError
              ? new AdminError(error instanceof AccountExistsError ? 409 : 400, 'invalid_request', error.message)
            : error instanceof VerificationUnavailable
              ? new AdminError(503, 'temporarily_unavailable', 'the authorization store is unavailable, try again')
              : typeof (error as { status?: unknown }).status === 'number' && (error as { status: number }).status < 500
                ? new AdminError((error as { status: number }).status, 'invalid_request', (error as Error).message)
                : undefined;
      if (!failure) throw error;
      oauthErrorAnswer(ctx, failure.status, failure.code, failure.message);
    }
  }

  async function requireOperator(ctx: Context, next: Next): Promise<void> {
    const scheme = presentedScheme(ctx.get('authorization'));
    const challenge = (error: string, description: string) =>
      `${scheme} realm="admin", resource="${resource}", error="${error}", error_description="${description}", scope="${ADMIN_SCOPE}"` +
      (scheme === 'DPoP' ? `, algs="${DPOP_SIGNING_ALGS.join(' ')}"` : '');
    if (!scheme) {
      ctx.set('WWW-Authenticate', `Bearer realm="admin", resource="${resource}", scope="${ADMIN_SCOPE}"`);
      ctx.append('WWW-Authenticate', `DPoP realm="admin", algs="${DPOP_SIGNING_ALGS.join(' ')}"`);
      throw new AdminError(401, 'invalid_token', 'a bearer token for the admin API is required');
    }
    let auth;
    try {
      ({ auth } = await authenticateRequestToken(tokenRequest(ctx)));
    } catch (error) {
      if (error instanceof InvalidDpopProof) {
        ctx.set('WWW-Authenticate', challenge('invalid_dpop_proof', 'the DPoP proof is invalid'));
        throw new AdminError(401, 'invalid_dpop_proof', error.message);
      }
      if (error instanceof InvalidTokenError) {
        ctx.set('WWW-Authenticate', challenge('invalid_token', 'the token is invalid, expired or revoked'));
        throw new AdminError(401, 'invalid_token', error.message);
      }
      throw error;
    }
    if (!auth.scopes.includes(ADMIN_SCOPE)) {
      ctx.set('WWW-Authenticate', challenge('insufficient_scope', 'the admin scope is required'));
      throw new AdminError(403, 'insufficient_scope', 'the admin scope is required');
    }
    ctx.state.operator = auth.clientId;
    ctx.set('Cache-Control', 'no-store');
    await next();
  }

  function options(ctx: Context, body: { reason?: string | undefined; dry_run?: boolean | undefined }): RevocationOptions {
    return { actor: { type: 'operator', id: String(ctx.state.operator) }, reason: body.reason, dryRun: body.dry_run };
  }

  router.use(handleErrors);
  router.get('/openapi.json', (ctx) => {
    ctx.body = adminOpenApi(resource);
  });
  router.use(requireOperator);

  router.get('/clients', async (ctx) => {
    ctx.body = { clients: await listClients(db) };
  });

  router.get('/clients/:clientId', async (ctx) => {
    const { clientId } = ctx.params as { clientId: string };
    ctx.body = await operations.showClient(clientId);
  });

  router.post('/clients/:clientId/revoke', json, async (ctx) => {
    const { clientId } = ctx.params as { clientId: string };
    const body = parse(bodies.revokeClient, ctx.request.body);
    ctx.body = await operations.revokeClient(clientId, { ...options(ctx, body), accounts: body.accounts });
  });

  for (const [path, operation] of [
    ['disable', 'disableClient'],
    ['enable', 'enableClient'],
  ] as const) {
    router.post(`/clients/:clientId/${path}`, json, async (ctx) => {
      const { clientId } = ctx.params as { clientId: string };
      const body = parse(bodies.revoke, ctx.request.body);
      ctx.body = await operations[operation](clientId, options(ctx, body));
    });
  }

  router.delete('/clients/:clientId', json, async (ctx) => {
    const { clientId } = ctx.params as { clientId: string };
    const body = parse(bodies.revoke, ctx.request.body);
    ctx.body = await operations.deleteClient(clientId, options(ctx, body));
  });

  router.get('/grants', async (ctx) => {
    const query = parse(
      z.object({ client_id: z.string().max(2048).optional(), account: z.string().max(320).optional() }).strict(),
      ctx.query,
    );
    ctx.body = {
      grants: await listGrants(db, {
        clientId: query.client_id,
        accountId: query.account ? await operations.resolveAccount(query.account) : undefined,
      }),
    };
  });

  router.post('/grants/:grantId/revoke', json, async (ctx) => {
    const { grantId } = ctx.params as { grantId: string };
    ctx.body = await revocation.revokeGrant(grantId, { ...options(ctx, parse(bodies.revoke, ctx.request.body)), requireTarget: true });
  });

  router.post('/accounts/:account/revoke', json, async (ctx) => {
    const { account } = ctx.params as { account: string };
    const body = parse(bodies.revokeAccount, ctx.request.body);
    ctx.body = await operations.revokeAccount(account, { ...options(ctx, body), clientId: body.client_id });
  });

  // The account lifecycle, as `portcullis users disable|enable|delete`.
  for (const [method, path, operation] of [
    ['post', '/accounts/:account/disable', 'disableAccount'],
    ['post', '/accounts/:account/enable', 'enableAccount'],
    ['delete', '/accounts/:account', 'deleteAccount'],
  ] as const) {
    router[method](path, json, async (ctx) => {
      const { account } = ctx.params as { account: string };
      const body = parse(bodies.revoke, ctx.request.body);
      ctx.body = await revocation[operation](await operations.resolveAccount(account), options(ctx, body));
    });
  }

  // As `portcullis users invite`: a single-use sign-up link for SIGNUP=invite, handed to the caller to send.
  router.post('/invitations', json, async (ctx) => {
    const { email } = parse(bodies.invitation, ctx.request.body);
    const invitation = await inviteAccount(db, issuer, email);
    ctx.status = 201;
    ctx.body = { email: invitation.email, link: invitation.link, expires_at: invitation.expiresAt };
  });

  router.post('/tokens/revoke', json, async (ctx) => {
    const body = parse(bodies.revokeToken, ctx.request.body);
    ctx.body = await revocation.revokeToken(body.token, { ...options(ctx, body), requireTarget: true });
  });

  // The resource registry, as `portcullis resources ...`; a resource is named by its URL, percent-encoded.
  router.get('/resources', async (ctx) => {
    ctx.body = { resources: (await resources.list()).map(resourceJson) };
  });

  router.post('/resources', json, async (ctx) => {
    const body = parse(bodies.addResource, ctx.request.body);
    const added = await resources.add({ url: body.resource, name: body.name, scopes: body.scopes, accessTokenTtl: body.access_token_ttl });
    ctx.status = 201;
    ctx.body = { ...resourceJson(added.resource), client_id: added.clientId, client_secret: added.clientSecret };
  });

  router.get('/resources/:resource', async (ctx) => {
    const { resource: url } = ctx.params as { resource: string };
    const view = await resources.show(url);
    ctx.body = { ...resourceJson(view.resource), resource_server_clients: view.resourceServerClients };
  });

  router.patch('/resources/:resource', json, async (ctx) => {
    const { resource: url } = ctx.params as { resource: string };
    const body = parse(bodies.updateResource, ctx.request.body);
    ctx.body = resourceJson(await resources.update(url, { name: body.name, scopes: body.scopes, accessTokenTtl: body.access_token_ttl }));
  });

  router.delete('/resources/:resource', json, async (ctx) => {
    const { resource: url } = ctx.params as { resource: string };
    ctx.body = await resources.remove(url, options(ctx, parse(bodies.revoke, ctx.request.body)));
  });

  router.get('/audit', async (ctx) => {
    const query = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }).strict(), ctx.query);
    ctx.body = { records: await listAudit(db, { limit: query.limit }) };
  });

  return router;
}
