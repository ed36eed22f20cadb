// The baseline the benches compare against: the product's provider configuration on oidc-provider's
// in-memory adapter (optionally issuing JWT access tokens), accounts and operator clients still read
// from the database.
import Provider from 'oidc-provider';
import type { Config } from '../src/config.ts';
import type { Database } from '../src/db/connect.ts';
import { providerPages } from '../src/http/provider_pages.ts';
import { CLOCK_TOLERANCE, type ConfigurationDependencies, providerConfiguration } from '../src/provider/configuration.ts';
import { findAccountById } from '../src/storage/account_store.ts';
import { isOperatorClient } from '../src/storage/operator_store.ts';

type AdapterFactory = NonNullable<NonNullable<ConstructorParameters<typeof Provider>[1]>['adapter']>;
const { default: MemoryAdapter } = (await import('oidc-provider/lib/adapters/memory_adapter.js' as string)) as {
  default: new (model: string, store: unknown, clockTolerance: number) => object;
};
const { default: LRU } = (await import('oidc-provider/lib/helpers/lru.js' as string)) as { default: new (options: { maxSize: number }) => unknown };

/** The library's in-memory adapter; its own factory caps the store at 1,000 entries, too few for a benchmark. */
export function memoryAdapter(): AdapterFactory {
  const store = new LRU({ maxSize: 10_000_000 });
  return ((model: string) => new MemoryAdapter(model, store, CLOCK_TOLERANCE)) as unknown as AdapterFactory;
}

export interface MemoryProviderOptions {
  keys: ConfigurationDependencies['keys'];
  resources: ConfigurationDependencies['resources'];
  /** The client that may introspect tokens of `config.resource` (none: nobody introspects). */
  introspector?: string;
  /** Issue JWT access tokens (the stateless baseline) instead of opaque ones. */
  jwt?: boolean;
}

export function memoryProvider(config: Config, db: Database, { keys, resources, introspector, jwt = false }: MemoryProviderOptions): Provider {
  const configuration = providerConfiguration({
    config,
    keys,
    adapter: memoryAdapter(),
    findAccountById: (id) => findAccountById(db, id),
    isOperatorClient: (clientId) => isOperatorClient(db, clientId),
    resourceServerResource: async (clientId) => (clientId === introspector ? config.resource : undefined),
    resources,
    pages: providerPages,
  });
  if (jwt) {
    const indicators = configuration.features!.resourceIndicators!;
    const info = indicators.getResourceServerInfo!;
    indicators.getResourceServerInfo = async (...args) => ({ ...(await info(...args)), accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } });
  }
  return new Provider(config.issuer, configuration);
}
