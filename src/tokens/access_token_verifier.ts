// The one place that decides whether a bearer access token is good for a resource server. Every
// surface that accepts our access tokens (the MCP server now, the admin API later, each with its own
// audience) calls a verifier from here and nothing else.
//
// `providerTokenVerifier` reads the token through the provider's own models, so the storage rules
// (hashed keys, expiry filter, cascades) stay in the adapter, and applies the checks the provider's
// /introspect applies (node_modules/oidc-provider/lib/actions/introspection.js), plus audience and
// client existence. Anything that is not a verdict (the database is down, a query timed out) is a
// VerificationUnavailable: callers answer 503, never "valid" and never 500.
import type { AuthInfo as SdkAuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { withRequestScope } from '../storage/request_scope.ts';
import { sameResource } from '../scopes.ts';
import { VerificationUnavailable } from './verification_unavailable.ts';

/** What a verifier resolves a token to: the MCP SDK's AuthInfo plus the token's sender constraint. */
export interface AuthInfo extends SdkAuthInfo {
  /** RFC 9449 `cnf.jkt`: the token is DPoP-bound to the key with this RFC 7638 thumbprint. */
  jkt?: string | undefined;
}

/** The MCP SDK's OAuthTokenVerifier shape: resolves AuthInfo or throws InvalidTokenError. */
export interface AccessTokenVerifier {
  verifyAccessToken(token: string): Promise<AuthInfo>;
}

export { InvalidTokenError, VerificationUnavailable };

export interface ProviderTokenVerifierOptions {
  provider: Provider;
  /** The audience this verifier accepts: tokens issued for any other resource are invalid. */
  resource: string;
  /** Told the grant of every accepted token (last-use tracking for the account pages). */
  onUse?: ((grantId: string) => void) | undefined;
}

export function providerTokenVerifier({ provider, resource, onUse }: ProviderTokenVerifierOptions): AccessTokenVerifier {
  async function lookup(value: string): Promise<AuthInfo> {
    // Existence, opaque format, exp within clock tolerance, kind AccessToken, session binding.
    const token = await provider.AccessToken.find(value);
    if (!token) throw new InvalidTokenError('token is unknown, revoked or expired');
    if (!token.isValid) throw new InvalidTokenError('token has expired');
    if (typeof token.aud !== 'string' || !sameResource(token.aud, resource)) {
      throw new InvalidTokenError('token was not issued for this resource');
    }
    if (!token.grantId || !token.accountId || !token.clientId) throw new InvalidTokenError('token is not bound to a grant');
    // Both answered from the token's read (storage/request_scope.ts), in parallel should they not be.
    const [grant, clientFound] = await Promise.all([
      provider.Grant.find(token.grantId, { ignoreExpiration: true }),
      clientExists(provider, token.clientId),
    ]);
    if (!grant || grant.isExpired || grant.clientId !== token.clientId || grant.accountId !== token.accountId) {
      throw new InvalidTokenError('token grant is missing, expired or does not match');
    }
    if (!clientFound) throw new InvalidTokenError('token client no longer exists');
    onUse?.(token.grantId);
    return {
      token: value,
      clientId: token.clientId,
      scopes: token.scope ? token.scope.split(' ').filter(Boolean) : [],
      expiresAt: token.exp,
      resource: new URL(token.aud),
      jkt: token.jkt,
      extra: { accountId: token.accountId, grantId: token.grantId },
    };
  }

  // One statement reads the token with its grant and client; the finds after it are answered from it.
  return storeBackedVerifier((value) => withRequestScope(() => lookup(value)));
}

/**
 * The contract every verifier that reads the token store keeps: malformed input is invalid without a
 * lookup, a verdict is InvalidTokenError, and anything else (the store failed) is VerificationUnavailable.
 */
export function storeBackedVerifier(lookup: (token: string) => Promise<AuthInfo>): AccessTokenVerifier {
  return {
    async verifyAccessToken(value) {
      if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
        throw new InvalidTokenError('malformed token');
      }
      try {
        return await lookup(value);
      } catch (error) {
        if (error instanceof InvalidTokenError) throw error;
        throw new VerificationUnavailable('token verification failed', { cause: error });
      }
    },
  };
}

/** Registered clients are read from storage; a Client ID Metadata Document client must still resolve. */
async function clientExists(provider: Provider, clientId: string | undefined): Promise<boolean> {
  if (!clientId) return false;
  try {
    return (await provider.Client.find(clientId)) !== undefined;
  } catch (error) {
    // The library's own verdicts (an unresolvable metadata document) mean "no such client".
    if (error instanceof errors.OIDCProviderError) return false;
    throw error;
  }
}
