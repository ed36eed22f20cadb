// The MCP server's steps in front of the transport: authenticate the bearer token (401 / 503) and
// check the scope each called tool needs (403 insufficient_scope), with RFC 6750 / RFC 9728 challenges.
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.ts';
import { MCP_SCOPES } from '../provider/scopes.ts';
import { type AccessTokenVerifier, type AuthInfo, InvalidTokenError } from '../tokens/access_token_verifier.ts';
import { TOOL_SCOPES, type ToolName } from './tools.ts';

export interface McpAuthState {
  auth: AuthInfo;
}

const ALL_SCOPES = Object.keys(MCP_SCOPES).join(' ');

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

function challenge(ctx: Context, status: 401 | 403, fields: Record<string, string>): void {
  const params = Object.entries(fields).map(([name, value]) => `${name}=${quoted(value)}`);
  ctx.status = status;
  ctx.set('WWW-Authenticate', `Bearer ${params.join(', ')}`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: fields.error, error_description: fields.error_description };
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Resolves the Authorization header to AuthInfo in ctx.state.auth, or answers 401 / 503. */
export function authenticate({ verifier, resourceMetadataUrl, logger }: {
  verifier: AccessTokenVerifier;
  resourceMetadataUrl: string;
  logger: Logger;
}) {
  return async function authenticateBearer(ctx: Context, next: Next): Promise<void> {
    const token = BEARER.exec(ctx.get('authorization'))?.[1];
    let auth: AuthInfo;
    try {
      if (!token) throw new InvalidTokenError('a bearer access token is required');
      auth = await verifier.verifyAccessToken(token);
      if (typeof auth.expiresAt !== 'number' || auth.expiresAt <= Date.now() / 1000) {
        throw new InvalidTokenError('token has expired');
      }
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        challenge(ctx, 401, {
          resource_metadata: resourceMetadataUrl,
          error: 'invalid_token',
          error_description: error.message,
          scope: ALL_SCOPES,
        });
        return;
      }
      // No verdict (database or authorization server unreachable): never valid, never a 500.
      logger.warn({ err: error }, 'access token verification unavailable');
      ctx.status = 503;
      ctx.set('Retry-After', '1');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'token verification is unavailable, try again' };
      return;
    }
    (ctx.state as McpAuthState).auth = auth;
    (ctx.req as typeof ctx.req & { auth?: AuthInfo }).auth = auth;
    await next();
  };
}

/** The scopes the JSON-RPC message(s) in the body need: one per tools/call of a known tool. */
export function scopesNeeded(body: unknown): Set<string> {
  const needed = new Set<string>();
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!message || typeof message !== 'object') continue;
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
    if (method !== 'tools/call' || typeof params?.name !== 'string') continue;
    const scope = TOOL_SCOPES[params.name as ToolName];
    if (scope) needed.add(scope);
  }
  return needed;
}

/** 403 insufficient_scope, naming the scopes to re-authorize with (the held ones plus the missing). */
export function requireToolScopes({ resourceMetadataUrl }: { resourceMetadataUrl: string }) {
  return async function checkToolScopes(ctx: Context, next: Next): Promise<void> {
    const { auth } = ctx.state as McpAuthState;
    const missing = [...scopesNeeded(ctx.request.body)].filter((scope) => !auth.scopes.includes(scope));
    if (missing.length > 0) {
      challenge(ctx, 403, {
        resource_metadata: resourceMetadataUrl,
        error: 'insufficient_scope',
        error_description: `this call needs ${missing.join(' ')}`,
        scope: [...new Set([...auth.scopes.filter((scope) => scope in MCP_SCOPES), ...missing])].join(' '),
      });
      return;
    }
    await next();
  };
}
