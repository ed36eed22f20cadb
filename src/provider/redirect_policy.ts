// The one redirect policy for every way a client comes to exist: dynamic registration (RFC 7591),
// its updates (RFC 7592), Client ID Metadata Documents, and clients the CLI writes to the store. The
// library builds every client through one schema, whose `extraClientMetadata.validator` calls
// `applyRedirectPolicy`; so a stored client that breaks the policy is refused when it is loaded, too.
//
// - `web` clients (OIDC's default): https redirect URIs only.
// - `native` clients (RFC 8252): http only on a loopback host (127.0.0.1, [::1], localhost), claimed
//   https URIs, and private-use schemes (`com.example.app:/cb`).
// - Everyone: no userinfo (`https://legit.example@attacker.example/cb`), no fragment, no script-like
//   scheme; jwks_uri over https only.
// - `post_logout_redirect_uris` are not supported (the product signs out to its own page):
//   registration refuses them; a stored client or a metadata document that has them loses them.
//
// Which type a client is (SEP-837): what a registration request says in `application_type`. A
// request or document without it is classified by its redirect URIs: native when one of them is
// loopback http or a private-use scheme (the MCP SDK, MCP Inspector and mcp-remote register
// `http://localhost:<port>/...` and send no application_type), web otherwise (ChatGPT, Claude: https).
// Metadata documents and stored clients are classified the same way, since the library's default
// `web` cannot be told from one the client wrote. The type found is stored, so the library's own
// rules (loopback redirect URIs match on any port for native clients, RFC 8252 §7.3) follow it.
import type { ClientMetadata, KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';

export type ApplicationType = 'web' | 'native';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Schemes that run or read something where they are opened, or are not redirects at all. */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:', 'ws:', 'wss:', 'ftp:']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/** Userinfo in the authority, however spelled (`user@`, `:@`, `@`), judged on the raw string. */
function hasUserinfo(uri: string): boolean {
  const afterScheme = uri.match(/^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i);
  return afterScheme?.[1]?.includes('@') ?? false;
}

/** A redirect URI only native clients may use: loopback http, or a private-use scheme. */
function nativeOnly(uri: string): boolean {
  const url = URL.parse(uri);
  if (!url) return false;
  return (url.protocol === 'http:' && isLoopbackHost(url.hostname)) || !['http:', 'https:'].includes(url.protocol);
}

/** Why `uri` is not an acceptable redirect URI for a client of `type`, or undefined when it is. */
export function redirectUriProblem(uri: unknown, type: ApplicationType): string | undefined {
  if (typeof uri !== 'string') return 'must be a string';
  const url = URL.parse(uri);
  if (!url) return `${uri} is not a valid URI`;
  if (uri.includes('#')) return `${uri} must not contain a fragment`;
  if (hasUserinfo(uri)) return `${uri} must not contain userinfo (user@ before the host)`;
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `${uri} must not use the ${url.protocol.slice(0, -1)} scheme`;
  if (url.protocol === 'https:') return undefined;
  if (type === 'web') {
    return `${uri} is not https: web clients use https redirect URIs only (loopback http and private-use schemes are for application_type native)`;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return `${uri} uses http on a host that is not loopback: only http://127.0.0.1, http://[::1] and http://localhost are allowed`;
  }
  return undefined;
}

/** The client's type: what it declared, else what its redirect URIs need. */
export function classifyClient(declared: unknown, redirectUris: readonly unknown[]): ApplicationType {
  if (declared === 'web' || declared === 'native') return declared;
  return redirectUris.some((uri) => typeof uri === 'string' && nativeOnly(uri)) ? 'native' : 'web';
}

/** RFC 7591's invalid_redirect_uri; the library's class has a fixed description meant for /authorize. */
function invalidRedirectUri(description: string): Error {
  return Object.assign(new errors.InvalidRedirectUri(), { error_description: description });
}

/** The application_type a registration or update request wrote itself, if this is one. */
function declaredInRequest(ctx: KoaContextWithOIDC | undefined): unknown {
  const body = ctx?.oidc?.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' ? body.application_type : undefined;
}

/**
 * Checks (and completes) client metadata; throws invalid_redirect_uri or invalid_client_metadata.
 * Malformed shapes (redirect_uris not an array...) are left to the library's own checks, which follow.
 */
export function applyRedirectPolicy(ctx: KoaContextWithOIDC | undefined, metadata: ClientMetadata): void {
  const registering = ctx !== undefined;
  const redirectUris: unknown[] = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris : [];
  const type = classifyClient(registering ? declaredInRequest(ctx) : metadata.application_type === 'native' ? 'native' : undefined, redirectUris);
  if (metadata.application_type === undefined || metadata.application_type === 'web' || metadata.application_type === 'native') {
    metadata.application_type = type;
  }
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri, type);
    if (problem) throw invalidRedirectUri(`redirect_uris: ${problem}`);
  }
  const postLogout = metadata.post_logout_redirect_uris;
  if (postLogout !== undefined && !(Array.isArray(postLogout) && postLogout.length === 0)) {
    if (registering) {
      throw new errors.InvalidClientMetadata('post_logout_redirect_uris is not supported: after sign-out this server shows its own page');
    }
    metadata.post_logout_redirect_uris = [];
  }
  const jwksUri = metadata.jwks_uri;
  if (typeof jwksUri === 'string' && URL.parse(jwksUri)?.protocol !== 'https:') {
    throw new errors.InvalidClientMetadata('jwks_uri must be an https URL');
  }
}
