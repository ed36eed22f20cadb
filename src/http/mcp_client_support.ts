// Request-level accommodations for MCP clients in front of the provider:
// - CORS on dynamic registration (/reg, /reg/:id): the library adds none there, and browser-based
//   MCP clients register from their own origin. Registration uses no cookies, so any origin may call.
//   (/token and /revoke have the library's CORS, checked per client by clientBasedCORS.)
// - /authorize without `scope` asks for the resource's scopes: ChatGPT may omit it on reconnect, and
//   the library would otherwise grant nothing and answer access_denied.
import cors from '@koa/cors';
import type { Context, Middleware, Next } from 'koa';
import { MCP_SCOPES } from '../provider/scopes.ts';

const RESOURCE_SCOPE = Object.keys(MCP_SCOPES).join(' ');

const registrationCors = cors({
  origin: '*',
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  allowHeaders: ['Content-Type', 'Authorization'],
  maxAge: 600,
});

export function mcpClientSupport({ registrationPath = '/reg', authorizationPath = '/authorize' } = {}): Middleware {
  return async function forMcpClients(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === registrationPath || ctx.path.startsWith(`${registrationPath}/`)) {
      await registrationCors(ctx, next);
      return;
    }
    if (ctx.path === authorizationPath && ctx.method === 'GET' && ctx.query.scope === undefined) {
      ctx.querystring = new URLSearchParams({ ...(ctx.query as Record<string, string>), scope: RESOURCE_SCOPE }).toString();
    }
    await next();
  };
}
