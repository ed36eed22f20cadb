// Assembles the authorization server from its parts: the provider (provider/build_provider.ts), its
// HTTP app, the admin API and the account pages.
import type Koa from 'koa';
import type { Config } from './config.ts';
import type { Database } from './db/connect.ts';
import { createHttpApp } from './http/app.ts';
import { trustProxyHops } from './http/client_address.ts';
import type { Logger } from './logger.ts';
import { type BuiltProvider, buildProvider } from './provider/build_provider.ts';
import { adminResource } from './provider/scopes.ts';
import { createRevocationService, type RevocationService } from './revocation/revocation_service.ts';
import { adminRoutes } from './admin/admin_routes.ts';
import { isOperatorClient } from './storage/operator_store.ts';
import { operatorTokenVerifier } from './tokens/operator_token_verifier.ts';
import { grantUseRecorder } from './tokens/grant_use.ts';
import { accountRoutes } from './http/account_routes.ts';
import { providerPages } from './http/provider_pages.ts';
import { signInLimiter } from './accounts/sign_in_limiter.ts';

export interface AuthorizationServer extends BuiltProvider {
  app: Koa;
  revocation: RevocationService;
}

export async function createAuthorizationServer(config: Config, db: Database, logger: Logger): Promise<AuthorizationServer> {
  const revocation = createRevocationService(db, logger);
  const built = await buildProvider({ config, db, logger, revocation, pages: providerPages });
  const { provider } = built;
  trustProxyHops(provider, config.trustProxy);
  // Last use of a grant, for the account pages: each access token the token endpoint issues.
  const recordGrantUse = grantUseRecorder(db, logger);
  provider.on('access_token.saved', (token: { grantId?: string }) => token.grantId && recordGrantUse(token.grantId));
  const admin = adminResource(config.issuer);
  const verifier = operatorTokenVerifier({ provider, resource: admin, isOperator: (id) => isOperatorClient(db, id) });
  const app = createHttpApp({
    provider,
    db,
    logger,
    trustProxy: config.trustProxy,
    rateLimits: config.rateLimits,
    routers: [
      adminRoutes({ db, revocation, verifier, resource: admin }),
      accountRoutes({ provider, db, revocation, issuer: config.issuer, sessionTtl: config.ttl.session, logins: signInLimiter(db, config.rateLimits) }),
    ],
  });
  return { ...built, app, revocation };
}
