// Where clients look for the authorization server's metadata, all answered with the provider's one
// document (served at /.well-known/openid-configuration, the provider being mounted at the root):
// - RFC 8414 §3 (and MCP SEP-2351): `/.well-known/oauth-authorization-server`, with the issuer's path
//   inserted after it (`/.well-known/oauth-authorization-server/tenant`) when the issuer has one;
// - for an issuer with a path, the OIDC forms clients fall back to: path-inserted
//   (`/.well-known/openid-configuration/tenant`) and OIDC Discovery's path-appended
//   (`/tenant/.well-known/openid-configuration`).
// The endpoints themselves stay at the root; the document names them absolutely.
import type { Context, Middleware, Next } from 'koa';

const OAUTH_METADATA_PATH = '/.well-known/oauth-authorization-server';
const OPENID_METADATA_PATH = '/.well-known/openid-configuration';

/** The request paths that answer with the metadata document, besides the provider's own. */
export function discoveryAliases(issuer: string): string[] {
  const issuerPath = new URL(issuer).pathname.replace(/\/+$/, '');
  if (issuerPath === '') return [OAUTH_METADATA_PATH];
  return [`${OAUTH_METADATA_PATH}${issuerPath}`, `${OPENID_METADATA_PATH}${issuerPath}`, `${issuerPath}${OPENID_METADATA_PATH}`, OAUTH_METADATA_PATH];
}

/** Rewrites the alias paths (exact spelling only, like every other route) to the provider's. */
export function discoveryPaths(issuer: string): Middleware {
  const aliases = new Set(discoveryAliases(issuer));
  return async function serveDiscoveryAliases(ctx: Context, next: Next): Promise<void> {
    if (aliases.has(ctx.path)) ctx.path = OPENID_METADATA_PATH;
    await next();
  };
}
