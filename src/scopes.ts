// What the protected resources accept, declared once: the MCP server's scopes (read by the provider's
// resource configuration, the consent page and the MCP server's tool checks), the admin API's
// resource and scope, and the DPoP proof algorithms the provider and every resource server accept.
export const MCP_SCOPES = {
  'mcp:read': 'read your notes and account details through the MCP server',
  'mcp:write': 'add notes through the MCP server',
} as const;

export type McpScope = keyof typeof MCP_SCOPES;

export const OIDC_SCOPES = {
  openid: 'know who you are',
  email: 'see your email address',
  offline_access: 'stay connected while you are away',
} as const;

const DESCRIPTIONS: Record<string, string> = { ...OIDC_SCOPES, ...MCP_SCOPES };

export function describeScope(scope: string): string {
  return DESCRIPTIONS[scope] ?? '';
}

export const ADMIN_SCOPE = 'admin';

/** The admin API's resource indicator (its tokens' audience). */
export function adminResource(issuer: string): string {
  return `${issuer}/admin`;
}

/** Proof algorithms the authorization server and every resource server accept: asymmetric only. */
export const DPOP_SIGNING_ALGS: ('ES256' | 'Ed25519' | 'EdDSA')[] = ['ES256', 'Ed25519', 'EdDSA'];

/** Resource indicators compare without a trailing slash: MCP clients send `new URL(x).href`. */
export function sameResource(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
