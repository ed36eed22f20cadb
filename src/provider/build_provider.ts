// One way to build the provider and its models, for every process that needs them: the authorization
// server (which serves it), the standalone MCP server (which reads tokens through its models, never
// serving its routes) and the CLI (which creates clients through the Client model).
import type Koa from 'koa';
import Provider, { type Adapter } from 'oidc-provider';
import { createStorageFactory } from '../adapter/knex_adapter.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { installServerKeys, type KeyWatch, watchServerKeys } from '../keys/key_refresh.ts';
import type { Logger } from '../logger.ts';
import type { RevocationService } from '../revocation/revocation_service.ts';
import { acceptHashedClientSecrets, clientSecretCodec } from '../secrets/client_secrets.ts';
import type { Keyring } from '../secrets/keyring.ts';
import { loadKeyring } from '../secrets/keyring_source.ts';
import { findAccountById } from '../storage/account_store.ts';
import { isClientDisabled } from '../storage/client_store.ts';
import { loadOrCreateServerKeys } from '../storage/key_store.ts';
import { isOperatorClient } from '../storage/operator_store.ts';
import { resourceServerResource } from '../storage/resource_server_store.ts';
import { reencryptSecrets } from '../storage/secret_reencryption.ts';
import { CLOCK_TOLERANCE, type ConfigurationDependencies, type ProviderPages, providerConfiguration } from './configuration.ts';
import { refuseDisabledClients } from './disabled_clients.ts';
import { revokingAdapters } from './library_revocations.ts';

/** The provider's models: their storage, with the library's revocations bridged to the service. */
export function providerModels(db: Database, keyring: Keyring, revocation: RevocationService): (model: string) => Adapter {
  return revokingAdapters(createStorageFactory(db, { clockTolerance: CLOCK_TOLERANCE, clientCodec: clientSecretCodec(keyring) }), revocation);
}

export interface BuiltProvider {
  provider: Provider;
  /** The adapter of one provider model (operators create clients through it). */
  adapterFor: (model: string) => Adapter;
  /** The keys secrets at rest are encrypted with (SECRETS_KEY). */
  keyring: Keyring;
  /** Keeps the provider's (and `apps`' cookie) keys those of the database, as another process rotates them. */
  watchKeys(apps: Koa[]): Promise<KeyWatch>;
}

export interface ProviderDependencies {
  config: Config;
  db: Database;
  logger: Logger;
  revocation: RevocationService;
  /** The pages the library renders (http/provider_pages.ts). */
  pages: ProviderPages;
  /** The protected resources tokens are issued for (src/resources). */
  resources: ConfigurationDependencies['resources'];
}

/**
 * A provider whose configuration looks accounts, operator and resource-server clients up in `db`, and
 * which refuses a disabled client wherever the library loads one: what every provider of the product
 * is built on (here, and the kit's models-only provider, model_provider.ts).
 */
export function providerOnDatabase(
  db: Database,
  settings: Pick<ConfigurationDependencies, 'config' | 'keys' | 'adapter' | 'resources' | 'pages'>,
): Provider {
  const provider = new Provider(
    settings.config.issuer,
    providerConfiguration({
      ...settings,
      findAccountById: (id) => findAccountById(db, id),
      isOperatorClient: (clientId) => isOperatorClient(db, clientId),
      resourceServerResource: (clientId) => resourceServerResource(db, clientId),
    }),
  );
  refuseDisabledClients(provider, (clientId) => isClientDisabled(db, clientId));
  return provider;
}

export async function buildProvider({ config, db, logger, revocation, pages, resources }: ProviderDependencies): Promise<BuiltProvider> {
  const keyring = loadKeyring(config);
  // Rows written before secrets were encrypted are encrypted now (a no-op afterwards).
  await reencryptSecrets(db, keyring, 'plain');
  const keys = await loadOrCreateServerKeys(db, keyring, config.keys.gracePeriod);
  const adapterFor = providerModels(db, keyring, revocation);
  const provider = providerOnDatabase(db, { config, keys, adapter: adapterFor, resources, pages });
  acceptHashedClientSecrets(provider);
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'provider server error'));
  const watchKeys = (apps: Koa[]) =>
    watchServerKeys({
      db,
      logger,
      intervalSeconds: config.keys.refreshInterval,
      graceSeconds: config.keys.gracePeriod,
      keyring,
      install: (installed) => installServerKeys(provider, apps, installed),
    });
  return { provider, adapterFor, keyring, watchKeys };
}
