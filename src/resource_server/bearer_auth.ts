// The one procedure behind the kit's middleware (express.ts, node_http.ts): the request's Bearer token
// through the verifier, then expiry and the scopes the call needs; the outcome is AuthInfo or the
// refusal to send (challenges.ts). Bearer only (RFC 6750 §2.1, the Authorization header): the kit has
// no DPoP proof replay store, so a DPoP-bound token is refused (RFC 9449 §7.2).
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { MissingCredentials, requestTokenAuthenticator } from '../tokens/request_token.ts';
import { insufficientScope, type Refusal, stepUpScope, unauthorized, unavailable } from './challenges.ts';

export interface BearerAuthOptions {
  /** createTokenVerifier(...), or any OAuthTokenVerifier that throws the SDK's InvalidTokenError for a refused token. */
  verifier: OAuthTokenVerifier;
  /** The RFC 9728 metadata URL named in every challenge: resourceMetadataUrl(resource). */
  resourceMetadataUrl: string;
  /**
   * Scopes the request needs: a list for every request, or a function of the request and its parsed
   * body (e.g. toolCallScopes({...}) for per-tool scopes). Missing ones: 403 insufficient_scope.
   */
  requiredScopes?: readonly string[] | ((request: unknown, body: unknown) => Iterable<string>);
  /** Told why a request got 503 (default: one console.warn line per request). */
  onUnavailable?: (error: unknown) => void;
}

function warnUnavailable(error: unknown): void {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  console.warn(`portcullis/resource-server: token verification unavailable (${error instanceof Error ? error.message : String(error)}${cause})`);
}

export type BearerOutcome = { auth: AuthInfo } | { refusal: Refusal };

export function bearerAuthentication({ verifier, resourceMetadataUrl, requiredScopes = [], onUnavailable = warnUnavailable }: BearerAuthOptions) {
  const authenticateToken = requestTokenAuthenticator({ verifier });
  return async function authenticateBearer(authorization: string | undefined, request: unknown, body: unknown): Promise<BearerOutcome> {
    let auth: AuthInfo;
    try {
      ({ auth } = await authenticateToken({ authorization: authorization ?? '', proofs: [], method: '', url: '' }));
      if (typeof auth.expiresAt !== 'number' || auth.expiresAt <= Date.now() / 1000) throw new InvalidTokenError('token has expired');
    } catch (error) {
      if (error instanceof MissingCredentials) return { refusal: unauthorized({ resource_metadata: resourceMetadataUrl, error_description: error.message }) };
      if (error instanceof InvalidTokenError) {
        return { refusal: unauthorized({ resource_metadata: resourceMetadataUrl, error: 'invalid_token', error_description: error.message }) };
      }
      // No verdict (VerifierUnavailableError, or a verifier of the caller's that failed): never a pass, never a 500.
      onUnavailable(error);
      return { refusal: unavailable() };
    }
    const needed = [...new Set(typeof requiredScopes === 'function' ? requiredScopes(request, body) : requiredScopes)];
    const missing = needed.filter((scope) => !auth.scopes.includes(scope));
    if (missing.length > 0) {
      return {
        refusal: insufficientScope({
          resource_metadata: resourceMetadataUrl,
          error_description: `this call needs ${missing.join(' ')}`,
          scope: stepUpScope(auth.scopes, needed),
        }),
      };
    }
    return { auth };
  };
}
