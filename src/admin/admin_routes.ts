// The admin API: the operators' revocation controls over HTTP. It is a resource server of our own
// provider: callers present client-credentials tokens for `$ISSUER/admin` with scope `admin`,
// checked by the shared token verifier. Every operation is one call into the operator operations
// (targets checked as the CLI checks them) or the revocation service.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { Database } from '../db/connect.ts';
import { oauthErrorAnswer } from '../http/error_answers.ts';
import { OperatorTargetNotFound, operatorOperations } from '../revocation/operator_operations.ts';
import { type RevocationOptions, type RevocationService, RevocationTargetNotFound } from '../revocation/revocation_service.ts';
import { listAudit } from '../storage/audit_store.ts';
import { listClients } from '../storage/client_store.ts';
import { listGrants } from '../storage/grant_store.ts';
import { type AccessTokenVerifier, InvalidTokenError, VerificationUnavailable } from '../tokens/access_token_verifier.ts';
import { InvalidDpopProof } from '../tokens/dpop_proof.ts';
import { ADMIN_SCOPE, DPOP_SIGNING_ALGS } from '../provider/scopes.ts';
import { presentedScheme, requestTokenAuthenticator, tokenRequest } from '../tokens/request_token.ts';
import { adminOpenApi } from './openapi.ts';

export interface AdminDependencies {
  db: Database;
  revocation: RevocationService;
  verifier: AccessTokenVerifier;
  /** `$ISSUER/admin`, named in WWW-Authenticate challenges. */
  resource: string;
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
};

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new AdminError(400, 'invalid_request', problems.join('; '));
  }
  return parsed.data;
}

export function adminRoutes({ db, revocation, verifier, resource }: AdminDependencies): Router {
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
          : error instanceof OperatorTargetNotFound || error instanceof RevocationTargetNotFound
            ? new AdminError(404, 'not_found', error.message)
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

  router.post('/tokens/revoke', json, async (ctx) => {
    const body = parse(bodies.revokeToken, ctx.request.body);
    ctx.body = await revocation.revokeToken(body.token, { ...options(ctx, body), requireTarget: true });
  });

  router.get('/audit', async (ctx) => {
    const query = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }).strict(), ctx.query);
    ctx.body = { records: await listAudit(db, { limit: query.limit }) };
  });

  return router;
}
