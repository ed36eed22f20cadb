// A provider for reading the stored models only (access tokens, grants, clients) on the shared
// database: what a resource server outside the authorization server's process (the kit's database
// mode, src/resource_server/) verifies tokens with, under the same configuration — so a client the
// authorization server accepts is found here too, and a disabled one is not. It serves no route and
// signs nothing, so it needs none of the server's keys; and it never authenticates a client, so a
// client's sealed secret stays sealed (no SECRETS_KEY is needed).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { createStorageFactory } from '../adapter/knex_adapter.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { createRevocationService } from '../revocation/revocation_service.ts';
import type { PayloadCodec } from '../secrets/client_secrets.ts';
import type Provider from 'oidc-provider';
import { providerOnDatabase } from './build_provider.ts';
import { CLOCK_TOLERANCE, type ProviderPages } from './configuration.ts';
import { revokingAdapters } from './library_revocations.ts';
import { acceptStoredClientScopes } from './registered_scopes.ts';
import { storedResources } from '../resources/resource_registry.ts';

/** Client payloads as stored: a reader needs the client's existence and metadata, never its secret. */
const SEALED_AS_STORED: PayloadCodec = {
  encode: () => {
    throw new Error('a models-only provider never writes clients');
  },
  decode: (_id, payload) => payload,
};

/**
 * A throwaway key of the servers' signing algorithm (src/keys/key_store.ts), never used to sign: the
 * library validates a client's `*_signed_response_alg` metadata against the algorithms its keys allow.
 */
function placeholderSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

export function createModelProvider({ config, db, logger, pages }: { config: Config; db: Database; logger: Logger; pages: ProviderPages }): Provider {
  // The library's revocations come from the token and revocation endpoints, never served here.
  const adapter = revokingAdapters(createStorageFactory(db, { clockTolerance: CLOCK_TOLERANCE, clientCodec: SEALED_AS_STORED }), createRevocationService(db, logger));
  const provider = providerOnDatabase(db, {
    config,
    keys: { signingKeys: [placeholderSigningKey()], cookieKeys: [] },
    adapter,
    resources: storedResources(db),
    pages,
  });
  acceptStoredClientScopes(provider);
  return provider;
}
