// Mints grants and access tokens through the provider's own models (so they are stored exactly as
// the provider stores them), for token states a real flow cannot reach on demand: expired, another
// audience, a grant of another account, session-bound.
import type Provider from 'oidc-provider';

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

export async function mintAccessToken(provider: Provider, fields: AccessTokenFields): Promise<string> {
  const client = await provider.Client.find(fields.clientId);
  if (!client) throw new Error(`no client ${fields.clientId}`);
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
