// Request-level accommodations for MCP clients in front of the provider:
// - CORS on dynamic registration (/reg, /reg/:id): the library adds none there, and browser-based
//   MCP clients register from their own origin. Registration uses no cookies, so any origin may call.
//   (/token and /revoke have the library's CORS, checked per client by clientBasedCORS.)
// - /authorize without `scope` asks for the resource's registered scopes (the one named by `resource`,
//   else the only one registered): ChatGPT may omit it on reconnect, and the library would otherwise
//   grant nothing and answer access_denied.
import cors from '@koa/cors';
import type { Context, Middleware, Next } from 'koa';
import type { Database } from '../db/connect.ts';
import { findRegisteredResource, registeredResources } from '../resources/resource_registry.ts';

const registrationCors = cors({
  origin: '*',
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  allowHeaders: ['Content-Type', 'Authorization'],
  maxAge: 600,
});

/** The scopes of the resource an authorization request is for, when it names one or only one is registered. */
async function resourceScope(db: Database, resource: unknown): Promise<string | undefined> {
  const registered =
    typeof resource === 'string' ? await findRegisteredResource(db, resource) : resource === undefined ? await onlyResource(db) : undefined;
  return registered?.scopes.map((scope) => scope.name).join(' ');
}

async function onlyResource(db: Database) {
  const all = await registeredResources(db);
  return all.length === 1 ? all[0] : undefined;
}

export function mcpClientSupport({ db, registrationPath = '/reg', authorizationPath = '/authorize' }: { db: Database; registrationPath?: string; authorizationPath?: string }): Middleware {
  return async function forMcpClients(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === registrationPath || ctx.path.startsWith(`${registrationPath}/`)) {
      await registrationCors(ctx, next);
      return;
    }
    if (ctx.path === authorizationPath && ctx.method === 'GET' && ctx.query.scope === undefined) {
      const scope = await resourceScope(db, ctx.query.resource);
      if (scope) ctx.querystring = new URLSearchParams({ ...(ctx.query as Record<string, string>), scope }).toString();
    }
    await next();
  };
}
