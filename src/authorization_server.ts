// Assembles the authorization server from its parts: database, keys, provider, HTTP app.
import type Koa from 'koa';
import Provider, { type Adapter } from 'oidc-provider';
import { findAccountById } from './accounts/account_store.ts';
import { createAdapterFactory } from './adapter/knex_adapter.ts';
import type { Config } from './config.ts';
import type { Database } from './db/connect.ts';
import { createHttpApp } from './http/app.ts';
import { trustProxyHops } from './http/client_address.ts';
import { loadOrCreateServerKeys } from './keys/key_store.ts';
import type { Logger } from './logger.ts';
import { CLOCK_TOLERANCE, providerConfiguration } from './provider/configuration.ts';
import { createRevocationService, type RevocationService } from './revocation/revocation_service.ts';
import { adminRoutes } from './admin/admin_routes.ts';
import { adminResource } from './admin/operator_clients.ts';
import { isOperatorClient } from './storage/operator_store.ts';
import { isClientDisabled } from './storage/client_store.ts';
import { resourceServerResource } from './storage/resource_server_store.ts';
import { refuseDisabledClients } from './provider/disabled_clients.ts';
import { operatorTokenVerifier } from './tokens/operator_token_verifier.ts';
import { grantUseRecorder } from './tokens/grant_use.ts';
import { accountRoutes } from './http/account_routes.ts';
import { accountPages } from './http/account_steps.ts';
import { acceptHashedClientSecrets, clientSecretCodec } from './secrets/client_secrets.ts';
import type { Keyring } from './secrets/keyring.ts';
import { loadKeyring } from './secrets/keyring_source.ts';
import { reencryptSecrets } from './storage/secret_reencryption.ts';
import { signInLimiter } from './accounts/sign_in_limiter.ts';
import { upstreamClient } from './federation/upstream_client.ts';
import { upstreamRoutes } from './http/upstream_routes.ts';

export interface AuthorizationServer {
  provider: Provider;
  app: Koa;
  revocation: RevocationService;
  /** The storage adapter for one provider model (operators create clients through it). */
  adapterFor: (model: string) => Adapter;
  /** The keys secrets at rest are encrypted with (SECRETS_KEY). */
  keyring: Keyring;
}

export async function createAuthorizationServer(config: Config, db: Database, logger: Logger): Promise<AuthorizationServer> {
  const keyring = loadKeyring(config);
  // Rows written before secrets were encrypted are encrypted now (a no-op afterwards).
  await reencryptSecrets(db, keyring, 'plain');
  const keys = await loadOrCreateServerKeys(db, keyring, config.keys.gracePeriod);
  const revocation = createRevocationService(db, logger);
  const adapterFor = createAdapterFactory(db, { clockTolerance: CLOCK_TOLERANCE, revocation, clientCodec: clientSecretCodec(keyring) });
  const provider = new Provider(
    config.issuer,
    providerConfiguration({
      config,
      keys,
      adapter: adapterFor,
      findAccountById: (id) => findAccountById(db, id),
      isOperatorClient: (clientId) => isOperatorClient(db, clientId),
      resourceServerResource: (clientId) => resourceServerResource(db, clientId),
    }),
  );
  trustProxyHops(provider, config.trustProxy);
  refuseDisabledClients(provider, (clientId) => isClientDisabled(db, clientId));
  acceptHashedClientSecrets(provider);
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'provider server error'));
  // Last use of a grant, for the account pages: each access token the token endpoint issues.
  const recordGrantUse = grantUseRecorder(db, logger);
  provider.on('access_token.saved', (token: { grantId?: string }) => token.grantId && recordGrantUse(token.grantId));
  const admin = adminResource(config.issuer);
  const verifier = operatorTokenVerifier({ provider, resource: admin, isOperator: (id) => isOperatorClient(db, id) });
  const upstreams = config.signIn.upstreams.map((upstream) => upstreamClient(upstream, config.issuer));
  const upstreamChoices = config.signIn.upstreams.map(({ id, displayName }) => ({ id, displayName }));
  const account = {
    provider,
    db,
    revocation,
    issuer: config.issuer,
    sessionTtl: config.ttl.session,
    logins: signInLimiter(db, config.rateLimits),
    upstreams: upstreamChoices,
  };
  const app = createHttpApp({
    provider,
    db,
    logger,
    trustProxy: config.trustProxy,
    rateLimits: config.rateLimits,
    signIn: { password: config.signIn.password, upstreams: upstreamChoices },
    routers: [
      upstreamRoutes({ provider, db, upstreams, logger, account: accountPages(account) }),
      adminRoutes({ db, revocation, verifier, resource: admin }),
      accountRoutes(account),
    ],
  });
  return { provider, app, revocation, adapterFor, keyring };
}
