// Scopes of the protected resource (the MCP server), declared once: the provider's resource
// configuration, the consent page and the MCP server's tool checks all read this list.
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

/** Resource indicators compare without a trailing slash: MCP clients send `new URL(x).href`. */
export function sameResource(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
