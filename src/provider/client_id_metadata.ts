// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25): an
// https URL used as client_id is fetched by the library (features.clientIdMetadataDocument), which
// checks the document's client_id, refuses shared-secret auth, caches a good document per HTTP caching
// headers, limits the size (fetchResponseBodyLimits) and the time (2.5 s), follows no redirects, and
// refuses loopback and private addresses. This module holds the policy on top of that:
// - redirect URIs follow the one redirect policy (redirect_policy.ts, applied to every client);
// - a document fetch's outcome, good or bad, is remembered for DOCUMENT_FETCH_MEMORY_SECONDS, so a
//   failing URL costs one outbound request per window, not two per /authorize (the library resolves
//   the client more than once per request and caches only documents that worked);
// - with CLIENT_METADATA_ALLOW_LOOPBACK (local development, refused in production) documents on
//   https://localhost may be fetched, trusting the system store plus NODE_EXTRA_CA_CERTS. Only those:
//   jwks_uri, sector_identifier_uri and every other outgoing request keep the library's guard.
import type { Configuration } from 'oidc-provider';
import type { Config } from '../config.ts';
import { isLoopbackHost } from './redirect_policy.ts';

/** The draft version node-oidc-provider 9.13 implements; bump deliberately with the library. */
const CIMD_DRAFT = 'draft-02';

/** How long a document fetch's outcome (a failure included) is reused before the URL is fetched again. */
export const DOCUMENT_FETCH_MEMORY_SECONDS = 30;
/** The library's own limit for a document (fetchResponseBodyLimits): one byte more is all it needs to refuse. */
const DOCUMENT_BODY_LIMIT = 5 * 1024;
const REMEMBERED_FETCHES_MAX = 1000;

type FeatureConfiguration = NonNullable<NonNullable<Configuration['features']>['clientIdMetadataDocument']>;
type Fetch = NonNullable<Configuration['fetch']>;

interface FetchOutcome {
  response?: { status: number; headers: [string, string][]; body: Uint8Array };
  error?: unknown;
}

export interface ClientMetadataDocuments {
  feature: FeatureConfiguration;
  fetch: Fetch;
}

/** The feature's configuration and the provider's outgoing fetch, which share what a document fetch is. */
export function clientMetadataDocuments(config: Config): ClientMetadataDocuments {
  // URLs the library is about to fetch as documents (allowFetch said yes); anything else is not one.
  const documentUrls = new Map<string, number>();
  const remembered = new Map<string, { until: number; outcome: Promise<FetchOutcome> }>();

  const feature: FeatureConfiguration = {
    enabled: true,
    ack: CIMD_DRAFT,
    allowFetch: async (_ctx, clientId) => {
      if (isLoopbackHost(new URL(clientId).hostname) && !config.clientMetadataAllowLoopback) return false;
      const now = Date.now();
      prune(documentUrls, now, (until) => until);
      documentUrls.set(clientId, now + DOCUMENT_FETCH_MEMORY_SECONDS * 1000);
      return true;
    },
    // At least a minute between fetches of one good document, at most a day (HTTP caching decides between).
    cacheDuration: { min: 60, max: 24 * 60 * 60 },
  };

  async function fetchDocument(url: string, options: RequestInit): Promise<FetchOutcome> {
    try {
      const response = await guardedFetch(config, url, options, true);
      return { response: { status: response.status, headers: [...response.headers], body: await readAtMost(response, DOCUMENT_BODY_LIMIT + 1) } };
    } catch (error) {
      return { error };
    }
  }

  const fetch: Fetch = async (input, options) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!documentUrls.has(url)) return guardedFetch(config, url, options ?? {}, false);
    const now = Date.now();
    prune(remembered, now, (entry) => entry.until);
    let entry = remembered.get(url);
    if (!entry) {
      entry = { until: now + DOCUMENT_FETCH_MEMORY_SECONDS * 1000, outcome: fetchDocument(url, options ?? {}) };
      remembered.set(url, entry);
    }
    const { response, error } = await entry.outcome;
    if (!response) throw error;
    return new Response(response.status === 204 || response.status === 304 ? null : response.body.slice(), {
      status: response.status,
      headers: response.headers,
    });
  };

  return { feature, fetch };
}

/** Drops what has expired, then the oldest entries beyond the cap. */
function prune<V>(map: Map<string, V>, now: number, until: (value: V) => number): void {
  for (const [key, value] of map) if (until(value) <= now) map.delete(key);
  for (const key of map.keys()) {
    if (map.size <= REMEMBERED_FETCHES_MAX) break;
    map.delete(key);
  }
}

/**
 * The library passes a dispatcher that refuses special-use addresses. It is dropped only for a
 * metadata document on https://localhost when CLIENT_METADATA_ALLOW_LOOPBACK is on.
 */
function guardedFetch(config: Config, url: string, options: RequestInit, document: boolean): Promise<Response> {
  const target = new URL(url);
  if (document && config.clientMetadataAllowLoopback && target.protocol === 'https:' && isLoopbackHost(target.hostname)) {
    const { dispatcher: _ssrfGuard, ...rest } = options as RequestInit & { dispatcher?: unknown };
    return globalThis.fetch(url, rest);
  }
  return globalThis.fetch(url, options);
}

/** The body up to `limit` bytes (the rest is cancelled), read under the request's own time limit. */
async function readAtMost(response: Response, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  if (!response.body) return new Uint8Array();
  for await (const chunk of response.body) {
    chunks.push(chunk);
    received += chunk.length;
    if (received >= limit) break; // leaving the loop cancels the rest of the stream
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
