// The provider's list of supported scopes follows the resource registry without a restart. The
// library copies the `scopes` option into a Set at construction and reads that Set live: DCR checks a
// client's `scope` against it (lib/helpers/client_schema.js), discovery prints it as scopes_supported
// (lib/actions/discovery.js). No public API changes it, so the Set is updated in place, in the
// library's private instance state (lib/helpers/weak_cache.js, oidc-provider 9).
import type Provider from 'oidc-provider';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { OIDC_SCOPES } from '../scopes.ts';

/** Scopes the server supports whatever is registered. */
export const SERVER_SCOPES: readonly string[] = Object.keys(OIDC_SCOPES);

function supportedScopes(provider: Provider): Set<string> {
  const scopes = (instance(provider) as { configuration?: { scopes?: unknown } } | undefined)?.configuration?.scopes;
  // Checked at start-up (installRegisteredScopes runs once right after construction): a library
  // upgrade that moves the Set fails loudly instead of freezing the list.
  if (!(scopes instanceof Set)) throw new Error('oidc-provider internals changed: configuration.scopes is not a Set');
  return scopes as Set<string>;
}

/** Makes the supported scopes exactly the server's own plus `registered`. */
export function installRegisteredScopes(provider: Provider, registered: Iterable<string>): void {
  const scopes = supportedScopes(provider);
  const wanted = new Set([...SERVER_SCOPES, ...registered]);
  for (const scope of [...scopes]) if (!wanted.has(scope)) scopes.delete(scope);
  for (const scope of wanted) scopes.add(scope);
}

/**
 * For a provider that only reads stored models (src/provider/model_provider.ts): a stored client's
 * `scope` was checked against the registry by the authorization server that registered it. Checking
 * it again here, against a snapshot this process would have to keep fresh, could only refuse a client
 * the authorization server accepts.
 */
export function acceptStoredClientScopes(provider: Provider): void {
  Object.defineProperty(supportedScopes(provider), 'has', { value: () => true });
}
