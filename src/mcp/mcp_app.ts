// The MCP server's HTTP surface: RFC 9728 metadata, and the Streamable HTTP endpoint (stateless:
// no session ids, one short-lived server per request) behind token authentication (Bearer or DPoP)
// and tool scopes.
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import Router from '@koa/router';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Context } from 'koa';
import Koa from 'koa';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import type { AccessTokenVerifier } from '../tokens/access_token_verifier.ts';
import { authenticate, requireToolScopes } from './bearer_auth.ts';
import { metadataPaths, metadataUrl, protectedResourceMetadata } from './resource_metadata.ts';
import { createMcpServer } from './tools.ts';
import { canonicalPaths, routerTable } from '../http/canonical_path.ts';
import { jsonRpcErrorAnswer } from '../http/error_answers.ts';
import { trustProxyHops } from '../http/client_address.ts';
import { healthRoutes } from '../http/health_routes.ts';
import { observePool, requestMetrics } from '../observability/metrics.ts';
import { requestLogging } from '../observability/request_context.ts';
import { withRequestScope } from '../storage/request_scope.ts';

export interface McpAppDependencies {
  /** The resource identifier (MCP_RESOURCE); its path is where the MCP endpoint is served. */
  resource: string;
  /** The authorization server's issuer, advertised in the metadata. */
  issuer: string;
  verifier: AccessTokenVerifier;
  db: Database;
  logger: Logger;
  /** Reverse proxy hops whose X-Forwarded-For entries are trusted (src/http/client_address.ts). */
  trustProxy?: number;
  /** The notes_add tool's cap per account (NOTES_PER_ACCOUNT_MAX). */
  notesPerAccount: number;
}

export function createMcpApp({ resource, issuer, verifier, db, logger, trustProxy = 0, notesPerAccount }: McpAppDependencies): Koa {
  const app = new Koa();
  trustProxyHops(app, trustProxy);
  app.silent = true;
  app.use(requestLogging('mcp', logger));
  app.use(requestMetrics('mcp'));
  observePool('mcp', db);
  const endpoint = new URL(resource).pathname;
  const resourceMetadataUrl = metadataUrl(resource);
  const metadata = protectedResourceMetadata(resource, issuer);

  // Browser-based MCP clients: access tokens (and DPoP proofs), no cookies, so any origin may call.
  app.use(
    cors({
      origin: '*',
      allowHeaders: ['Authorization', 'DPoP', 'Content-Type', 'Accept', 'Mcp-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-ID'],
      exposeHeaders: ['WWW-Authenticate', 'Mcp-Session-Id', 'Mcp-Protocol-Version'],
      allowMethods: ['GET', 'POST', 'DELETE'],
    }),
  );
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) return;
      // The client's fault (unparsable JSON 400, body over the limit 413): its status, a JSON-RPC parse error.
      const status = (error as { status?: unknown; expose?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: unknown }).expose !== false) {
        jsonRpcErrorAnswer(ctx, status, -32700, status === 413 ? 'Request body too large.' : 'Parse error.');
        return;
      }
      logger.error({ err: error, path: ctx.path }, 'mcp request failed');
      jsonRpcErrorAnswer(ctx, 500, -32603, 'Internal server error');
    }
  });

  const router = new Router();
  router.get(metadataPaths(resource), (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = metadata;
  });

  router.post(
    endpoint,
    // The token's read also reads its account, for the tool that asks for it (storage/request_scope.ts).
    (_ctx, next) => withRequestScope(next, { readsAccount: true }),
    authenticate({ verifier, db, resourceMetadataUrl, logger }),
    bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' }),
    requireToolScopes({ resourceMetadataUrl }),
    async function handleMcpRequest(ctx: Context) {
      const server = createMcpServer({ db, logger, notesPerAccount });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      ctx.res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      ctx.respond = false;
      await transport.handleRequest(ctx.req, ctx.res, ctx.request.body);
    },
  );
  // Stateless: no standalone SSE stream to open and no session to delete.
  router.all(endpoint, (ctx) => {
    ctx.set('Allow', 'POST');
    jsonRpcErrorAnswer(ctx, 405, -32000, 'Method not allowed.');
  });

  // /metrics is served on the management port only (src/observability/metrics_server.ts).
  const routers = [healthRoutes(db), router];
  app.use(canonicalPaths(routers.map(routerTable)));
  for (const routes of routers) app.use(routes.routes());
  return app;
}
