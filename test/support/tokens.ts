// Mints grants, tokens and codes through the provider's own models (so they are stored exactly as
// the provider stores them): for token states a real flow cannot reach on demand (expired, another
// audience, a grant of another account, session-bound), and for tests and benchmarks that need many
// authorizations faster than the browser flow makes them.
import type Provider from 'oidc-provider';
import type { Client } from 'oidc-provider';

export interface GrantFields {
  clientId: string;
  accountId: string;
  resource: string;
  scope?: string;
}

export async function mintGrant(provider: Provider, fields: GrantFields): Promise<string> {
  const grant = new provider.Grant({ clientId: fields.clientId, accountId: fields.accountId });
  grant.addResourceScope(fields.resource, fields.scope ?? 'mcp:read mcp:write');
  return grant.save();
}

export interface AccessTokenFields {
  clientId: string;
  accountId: string;
  grantId: string;
  aud: string;
  scope?: string;
  /** Seconds from now; negative for an already expired token. */
  expiresIn?: number;
  sessionUid?: string;
  expiresWithSession?: boolean;
}

async function findClient(provider: Provider, clientId: string): Promise<Client> {
  const client = await provider.Client.find(clientId);
  if (!client) throw new Error(`no client ${clientId}`);
  return client;
}

export async function mintAccessToken(provider: Provider, fields: AccessTokenFields): Promise<string> {
  const client = await findClient(provider, fields.clientId);
  const token = new provider.AccessToken({
    client,
    accountId: fields.accountId,
    grantId: fields.grantId,
    gty: 'authorization_code',
    aud: fields.aud,
    scope: fields.scope ?? 'mcp:read mcp:write',
    ...(fields.expiresIn !== undefined ? { expiresIn: fields.expiresIn } : {}),
    ...(fields.sessionUid ? { sessionUid: fields.sessionUid, expiresWithSession: fields.expiresWithSession ?? true } : {}),
  });
  return token.save();
}

export interface RefreshTokenFields {
  clientId: string;
  accountId: string;
  grantId: string;
  resource: string;
  scope?: string;
}

/** What a refresh token and an authorization code of a grant both carry. */
async function grantBound(provider: Provider, fields: RefreshTokenFields) {
  return {
    client: await findClient(provider, fields.clientId),
    accountId: fields.accountId,
    grantId: fields.grantId,
    gty: 'authorization_code',
    resource: fields.resource,
    scope: fields.scope ?? 'mcp:read mcp:write',
  };
}

export async function mintRefreshToken(provider: Provider, fields: RefreshTokenFields): Promise<string> {
  return new provider.RefreshToken(await grantBound(provider, fields)).save();
}

export interface AuthorizationCodeFields extends RefreshTokenFields {
  redirectUri: string;
  /** The PKCE S256 challenge of the verifier the exchange will present. */
  codeChallenge: string;
}

export async function mintAuthorizationCode(provider: Provider, fields: AuthorizationCodeFields): Promise<string> {
  return new provider.AuthorizationCode({
    ...(await grantBound(provider, fields)),
    redirectUri: fields.redirectUri,
    codeChallenge: fields.codeChallenge,
    codeChallengeMethod: 'S256',
  }).save();
}
