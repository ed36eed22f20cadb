// The HTTP surface: our own routes on @koa/router, then the provider mounted at the root.
import type Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { assetRoutes } from './asset_routes.ts';
import { authorizationRequestLimits } from './authorization_request_limits.ts';
import { bodyLimit } from './body_limit.ts';
import { canonicalPaths, providerTable, routerTable } from './canonical_path.ts';
import { trustProxyHops } from './client_address.ts';
import { discoveryPaths } from './discovery_paths.ts';
import { errorBoundary, rememberServerError } from './error_boundary.ts';
import { healthRoutes } from './health_routes.ts';
import { interactionRoutes, type LoginOptions } from './interaction_routes.ts';
import { mcpClientSupport } from './mcp_client_support.ts';
import { type RateLimits, requestRateLimits } from './rate_limit.ts';
import { signInLimiter } from '../accounts/sign_in_limiter.ts';
import { observePool, observeProvider, requestMetrics } from '../observability/metrics.ts';
import { requestLogging } from '../observability/request_context.ts';
import { securityHeaders } from './security_headers.ts';
import { type Brand, DEFAULT_BRAND, withBrand } from './views/brand.ts';
import type { SelfService } from '../accounts/self_service.ts';
import { withRequestScope } from '../storage/request_scope.ts';

export interface HttpAppDependencies {
  provider: Provider;
  db: Database;
  logger: Logger;
  /** Reverse proxy hops whose X-Forwarded-For entries are trusted (src/http/client_address.ts). */
  trustProxy: number;
  /** Further surfaces (the admin API), mounted before the provider. */
  routers?: Router[];
  /** Abuse limits (429); none when absent. */
  rateLimits?: RateLimits;
  /** The name, logo and colour every page shows; default Portcullis. */
  brand?: Brand;
  /** Sign-up and password reset links on the login page; none when absent. */
  selfService?: SelfService | undefined;
  /** What the login page offers; default: the password form only. */
  signIn?: LoginOptions;
}

export function createHttpApp({ provider, db, logger, trustProxy, routers = [], rateLimits, brand = DEFAULT_BRAND, selfService, signIn }: HttpAppDependencies): Koa {
  const app = new Koa();
  trustProxyHops(app, trustProxy);
  // Mounted, the provider reads cookies through this app's context: it must sign with the same keys.
  app.keys = provider.keys;
  app.silent = true;

  app.use(requestLogging('authorization', logger));
  app.use(requestMetrics('authorization'));
  observeProvider(provider);
  observePool('authorization', db);
  app.use(securityHeaders);
  // Outside the error boundary: its pages, and the provider's, show the brand too.
  app.use(withBrand(brand));
  app.use(errorBoundary(logger));
  // The provider renders its own errors; the boundary needs to see why (database down: 503).
  provider.on('server_error', rememberServerError);
  const logins = rateLimits && signInLimiter(db, rateLimits);
  const ourRouters = [healthRoutes(db), assetRoutes(brand), interactionRoutes({ provider, db, logins, selfService, signIn }), ...routers];
  // Before every guard that reads the path: each route is reachable under one spelling only.
  app.use(canonicalPaths([...ourRouters.map(routerTable), providerTable(provider)]));
  if (rateLimits) app.use(requestRateLimits(db, rateLimits));
  // /metrics is served on the management port only (src/observability/metrics_server.ts).
  for (const router of ourRouters) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use(discoveryPaths(provider.issuer));
  app.use(mcpClientSupport({ db }));
  app.use(authorizationRequestLimits());
  app.use(bodyLimit());
  // Reads ahead and a token request's consume, within the request (storage/request_scope.ts).
  app.use((_ctx, next) => withRequestScope(next));
  app.use(mount(provider));
  return app;
}
