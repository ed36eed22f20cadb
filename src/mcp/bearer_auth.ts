// The MCP server's steps in front of the transport: authenticate the access token with its sender
// constraint (Bearer, or DPoP with a proof; 401 / 503) and check the scope each called tool needs
// (403 insufficient_scope), with RFC 6750 / RFC 9449 §7.1 / RFC 9728 challenges.
import type { Context, Next } from 'koa';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { DPOP_SIGNING_ALGS, MCP_SCOPES } from '../scopes.ts';
import { oauthErrorAnswer } from '../http/error_answers.ts';
import { challengeHeader, stepUpScope } from '../resource_server/challenges.ts';
import { scopesForToolCalls } from '../resource_server/tool_scopes.ts';
import { type AccessTokenVerifier, type AuthInfo, InvalidTokenError } from '../tokens/access_token_verifier.ts';
import { InvalidDpopProof } from '../tokens/dpop_proof.ts';
import { MissingCredentials, presentedScheme, requestTokenAuthenticator, type TokenScheme, tokenRequest } from '../tokens/request_token.ts';
import { TOOL_SCOPES } from './tools.ts';

export interface McpAuthState {
  auth: AuthInfo;
  scheme: TokenScheme;
}

const ALL_SCOPES = Object.keys(MCP_SCOPES).join(' ');
const ALGS = DPOP_SIGNING_ALGS.join(' ');

/**
 * The kit's challenge header (src/resource_server/challenges.ts) in the scheme the request used, with
 * DPoP's algs; the body says `description` (under the challenge's error, if any).
 */
function challenge(ctx: Context, status: 401 | 403, scheme: TokenScheme, fields: Record<string, string>, description: string): void {
  ctx.set('WWW-Authenticate', challengeHeader(scheme, scheme === 'DPoP' ? { ...fields, algs: ALGS } : fields));
  // A Bearer (or bare) request also learns that DPoP is accepted, and with which algorithms.
  if (scheme === 'Bearer' && status === 401) ctx.append('WWW-Authenticate', challengeHeader('DPoP', { algs: ALGS }));
  ctx.set('Cache-Control', 'no-store');
  oauthErrorAnswer(ctx, status, fields.error, description);
}

/** Resolves the request's access token to AuthInfo in ctx.state.auth, or answers 401 / 503. */
export function authenticate({ verifier, db, resourceMetadataUrl, logger }: {
  verifier: AccessTokenVerifier;
  db: Database;
  resourceMetadataUrl: string;
  logger: Logger;
}) {
  const authenticateRequestToken = requestTokenAuthenticator({ verifier, db });
  return async function authenticateAccessToken(ctx: Context, next: Next): Promise<void> {
    let auth: AuthInfo;
    let scheme: TokenScheme;
    try {
      ({ auth, scheme } = await authenticateRequestToken(tokenRequest(ctx)));
      if (typeof auth.expiresAt !== 'number' || auth.expiresAt <= Date.now() / 1000) {
        throw new InvalidTokenError('token has expired');
      }
    } catch (error) {
      if (error instanceof MissingCredentials) {
        // RFC 6750 §3.1: no credentials, no error code; both challenges (Bearer, and DPoP's algs) are bare.
        challenge(ctx, 401, 'Bearer', { resource_metadata: resourceMetadataUrl, scope: ALL_SCOPES }, error.message);
        return;
      }
      if (error instanceof InvalidTokenError || error instanceof InvalidDpopProof) {
        challenge(ctx, 401, presentedScheme(ctx.get('authorization')) ?? 'Bearer', {
          resource_metadata: resourceMetadataUrl,
          error: error instanceof InvalidDpopProof ? 'invalid_dpop_proof' : 'invalid_token',
          error_description: error.message,
          scope: ALL_SCOPES,
        }, error.message);
        return;
      }
      // No verdict (database or authorization server unreachable): never valid, never a 500.
      logger.warn({ err: error }, 'access token verification unavailable');
      oauthErrorAnswer(ctx, 503, 'temporarily_unavailable', 'token verification is unavailable, try again');
      return;
    }
    Object.assign(ctx.state as McpAuthState, { auth, scheme });
    (ctx.req as typeof ctx.req & { auth?: AuthInfo }).auth = auth;
    await next();
  };
}

/** 403 insufficient_scope, naming the scopes to re-authorize with (the held ones plus the missing). */
export function requireToolScopes({ resourceMetadataUrl }: { resourceMetadataUrl: string }) {
  return async function checkToolScopes(ctx: Context, next: Next): Promise<void> {
    const { auth, scheme } = ctx.state as McpAuthState;
    const missing = [...scopesForToolCalls(ctx.request.body, TOOL_SCOPES)].filter((scope) => !auth.scopes.includes(scope));
    if (missing.length > 0) {
      const description = `this call needs ${missing.join(' ')}`;
      challenge(ctx, 403, scheme, {
        resource_metadata: resourceMetadataUrl,
        error: 'insufficient_scope',
        error_description: description,
        scope: stepUpScope(auth.scopes.filter((scope) => scope in MCP_SCOPES), missing),
      }, description);
      return;
    }
    await next();
  };
}
