// Assembles the authorization server from its parts: the provider (provider/build_provider.ts), its
// HTTP app, the admin API and the account pages.
import type Koa from 'koa';
import type { Config } from './config.ts';
import type { Database } from './db/connect.ts';
import { createHttpApp } from './http/app.ts';
import { trustProxyHops } from './http/client_address.ts';
import type { Logger } from './logger.ts';
import { type BuiltProvider, buildProvider } from './provider/build_provider.ts';
import { adminResource } from './scopes.ts';
import { createRevocationService, type RevocationService } from './revocation/revocation_service.ts';
import { adminRoutes } from './admin/admin_routes.ts';
import { isOperatorClient } from './storage/operator_store.ts';
import { operatorTokenVerifier } from './tokens/operator_token_verifier.ts';
import { grantUseRecorder } from './tokens/grant_use.ts';
import { accountRoutes } from './http/account_routes.ts';
import { providerPages } from './http/provider_pages.ts';
import { accountPages } from './http/account_steps.ts';
import { signInLimiter } from './accounts/sign_in_limiter.ts';
import { mailLimiter } from './accounts/mail_limiter.ts';
import { createSelfService } from './accounts/self_service.ts';
import { createMailer } from './mail/mailer.ts';
import { openResourceRegistry, type ResourceRegistry } from './resources/resource_registry.ts';
import { ensureDefaultResource } from './resources/default_resource.ts';
import { resourceOperations } from './admin/resource_operations.ts';
import { installRegisteredScopes } from './provider/registered_scopes.ts';
import { upstreamClient } from './federation/upstream_client.ts';
import { upstreamRoutes } from './http/upstream_routes.ts';

export interface AuthorizationServer extends BuiltProvider {
  app: Koa;
  revocation: RevocationService;
  /** The protected resources; `stop()` it when the server stops (it listens for changes). */
  resources: ResourceRegistry;
}

export async function createAuthorizationServer(config: Config, db: Database, logger: Logger): Promise<AuthorizationServer> {
  const revocation = createRevocationService(db, logger);
  await ensureDefaultResource(db, config, logger);
  // Scope changes are installed into the provider once it exists (below, and on every snapshot).
  let installScopes = (): void => {};
  const resources = await openResourceRegistry({ db, logger, onSnapshot: () => installScopes() });
  const built = await buildProvider({ config, db, logger, revocation, pages: providerPages, resources });
  const { provider, adapterFor } = built;
  installScopes = () => installRegisteredScopes(provider, resources.scopeNames());
  installScopes();
  trustProxyHops(provider, config.trustProxy);
  // Last use of a grant, for the account pages: each access token the token endpoint issues.
  const recordGrantUse = grantUseRecorder(db, logger);
  provider.on('access_token.saved', (token: { grantId?: string }) => token.grantId && recordGrantUse(token.grantId));
  const admin = adminResource(config.issuer);
  const verifier = operatorTokenVerifier({ provider, resource: admin, isOperator: (id) => isOperatorClient(db, id) });
  const selfService = createSelfService({
    db,
    settings: config.selfService,
    mailer: createMailer(config.mail, logger),
    mailLimits: mailLimiter(db, config.rateLimits),
    revocation,
    brand: config.brand,
    issuer: config.issuer,
    logger,
  });
  const upstreams = config.signIn.upstreams.map((upstream) => upstreamClient(upstream, config.issuer));
  const upstreamChoices = config.signIn.upstreams.map(({ id, displayName }) => ({ id, displayName }));
  const account = {
    provider,
    db,
    revocation,
    issuer: config.issuer,
    sessionTtl: config.ttl.session,
    logins: signInLimiter(db, config.rateLimits),
    selfService,
    upstreams: upstreamChoices,
  };
  const app = createHttpApp({
    provider,
    db,
    logger,
    trustProxy: config.trustProxy,
    rateLimits: config.rateLimits,
    brand: config.brand,
    selfService,
    signIn: { password: config.signIn.password, upstreams: upstreamChoices },
    routers: [
      upstreamRoutes({ provider, db, upstreams, logger, account: accountPages(account) }),
      adminRoutes({
        db,
        revocation,
        verifier,
        resource: admin,
        issuer: config.issuer,
        resources: resourceOperations({ db, revocation, clients: adapterFor('Client'), onChange: () => resources.refresh() }),
      }),
      accountRoutes(account),
    ],
  });
  return { ...built, app, revocation, resources };
}
