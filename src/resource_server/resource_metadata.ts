// RFC 9728 Protected Resource Metadata: the document, the URL challenges name, and the paths it is
// served at (the path form `/.well-known/oauth-protected-resource/<resource path>` and the root form).
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** Scopes a client may hold but a resource never requires (MCP 2026-07-28): not advertised. */
const NOT_ADVERTISED = new Set(['offline_access']);

export interface ResourceMetadataOptions {
  /** The resource identifier, e.g. `https://mcp.example.com/mcp`. */
  resource: string;
  /** The authorization server's issuer (or several). */
  issuer: string | readonly string[];
  /** The scopes the resource's calls need, e.g. ['notes:read', 'notes:write']. */
  scopesSupported?: readonly string[];
  /** A name for people (RFC 9728 `resource_name`). */
  resourceName?: string;
  /** Further RFC 9728 fields (e.g. the DPoP ones). */
  extra?: Partial<OAuthProtectedResourceMetadata>;
}

/** The path form (`https://host/.well-known/oauth-protected-resource/mcp`), the one challenges name. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return new URL(`${WELL_KNOWN}${path}`, url.origin).href;
}

/** The request paths the document is served at: the path form and the root form. */
export function resourceMetadataPaths(resource: string): string[] {
  const pathForm = new URL(resourceMetadataUrl(resource)).pathname;
  return pathForm === WELL_KNOWN ? [WELL_KNOWN] : [pathForm, WELL_KNOWN];
}

export function protectedResourceMetadata({ resource, issuer, scopesSupported = [], resourceName, extra }: ResourceMetadataOptions): OAuthProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: typeof issuer === 'string' ? [issuer] : [...issuer],
    scopes_supported: scopesSupported.filter((scope) => !NOT_ADVERTISED.has(scope)),
    bearer_methods_supported: ['header'],
    ...(resourceName ? { resource_name: resourceName } : {}),
    ...extra,
  };
}
