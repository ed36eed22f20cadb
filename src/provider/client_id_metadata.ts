// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25): an
// https URL used as client_id is fetched by the library (features.clientIdMetadataDocument), which
// checks the document's client_id, refuses shared-secret auth, caches per HTTP caching headers, limits
// the size (fetchResponseBodyLimits) and the time (2.5 s), follows no redirects, and refuses
// loopback and private addresses. This module holds the policy on top of that:
// - redirect URIs must be https, or http on a loopback host (RFC 8252 native/CLI clients);
// - in development and test only, documents on `localhost` may be fetched (over https, trusting the
//   system store plus NODE_EXTRA_CA_CERTS), so a developer or a test can serve one.
import type { Configuration } from 'oidc-provider';
import type { Config } from '../config.ts';

/** The draft version node-oidc-provider 9.13 implements; bump deliberately with the library. */
const CIMD_DRAFT = 'draft-02';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/** Redirect URIs a metadata-document client may use: https anywhere, http only on loopback. */
export function acceptableRedirectUri(uri: string): boolean {
  const url = URL.parse(uri);
  if (!url || url.hash) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url));
}

function relaxedForLocalhost(config: Config): boolean {
  return config.env === 'development' || config.env === 'test';
}

type FeatureConfiguration = NonNullable<NonNullable<Configuration['features']>['clientIdMetadataDocument']>;

export function clientIdMetadataDocumentFeature(config: Config): FeatureConfiguration {
  return {
    enabled: true,
    ack: CIMD_DRAFT,
    allowFetch: async (_ctx, clientId) => {
      const url = new URL(clientId);
      return !isLoopbackUrl(url) || relaxedForLocalhost(config);
    },
    allowClient: async (_ctx, client) => (client.redirectUris ?? []).every(acceptableRedirectUri),
    // At least a minute between fetches of one document, at most a day (HTTP caching decides between).
    cacheDuration: { min: 60, max: 24 * 60 * 60 },
  };
}

/**
 * The provider's outgoing fetch. The library passes a dispatcher that refuses special-use addresses;
 * in development and test it is dropped for `localhost` URLs only, everything else keeps it.
 */
export function outgoingFetch(config: Config): NonNullable<Configuration['fetch']> {
  return (input, options) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (relaxedForLocalhost(config) && isLoopbackUrl(url)) {
      const { dispatcher: _ssrfGuard, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(input, rest);
    }
    return globalThis.fetch(input, options);
  };
}
