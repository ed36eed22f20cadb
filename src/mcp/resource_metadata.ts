// RFC 9728 Protected Resource Metadata for the MCP server, and the URLs MCP clients find it at.
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { MCP_SCOPES } from '../provider/scopes.ts';
import { DPOP_SIGNING_ALGS } from '../provider/scopes.ts';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The path form (`/.well-known/oauth-protected-resource/mcp`) named in WWW-Authenticate challenges. */
export function metadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return new URL(`${WELL_KNOWN}${path}`, url.origin).href;
}

/** Both paths the document is served at on the MCP server: the path form and the root form. */
export function metadataPaths(resource: string): string[] {
  const pathForm = new URL(metadataUrl(resource)).pathname;
  return pathForm === WELL_KNOWN ? [WELL_KNOWN] : [pathForm, WELL_KNOWN];
}

export function protectedResourceMetadata(resource: string, issuer: string): OAuthProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [issuer],
    scopes_supported: Object.keys(MCP_SCOPES),
    bearer_methods_supported: ['header'],
    // RFC 9449 §5.1 / RFC 9728 §2: DPoP-bound tokens are accepted (and then required with a proof);
    // plain bearer tokens stay accepted, so binding is not required of every client.
    dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
    dpop_bound_access_tokens_required: false,
    resource_name: 'Portcullis MCP server',
  };
}
