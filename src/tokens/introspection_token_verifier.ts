// MCP_TOKEN_VALIDATION=introspection: the same verdicts as providerTokenVerifier, obtained from the
// authorization server's RFC 7662 endpoint with a confidential resource-server client, for resource
// servers deployed without database access. RFC 7662 §4 leaves audience and token type to the
// caller: only an active access token (token_type Bearer, or DPoP with its `cnf.jkt`) issued for
// this resource is accepted.
import * as oauth from 'openid-client';
import { sameResource } from '../scopes.ts';
import { type AccessTokenVerifier, InvalidTokenError, VerificationUnavailable } from './access_token_verifier.ts';

export interface IntrospectionVerifierOptions {
  issuer: string;
  introspectionEndpoint: string;
  clientId: string;
  clientSecret: string;
  resource: string;
  /** Seconds before an unanswered introspection request counts as unavailable. */
  timeout?: number;
}

export function introspectionTokenVerifier(options: IntrospectionVerifierOptions): AccessTokenVerifier {
  const configuration = new oauth.Configuration(
    { issuer: options.issuer, introspection_endpoint: options.introspectionEndpoint },
    options.clientId,
    options.clientSecret,
  );
  configuration.timeout = options.timeout ?? 5;
  if (new URL(options.introspectionEndpoint).protocol === 'http:') oauth.allowInsecureRequests(configuration);

  return {
    async verifyAccessToken(value) {
      if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
        throw new InvalidTokenError('malformed token');
      }
      let answer: oauth.IntrospectionResponse;
      try {
        answer = await oauth.tokenIntrospection(configuration, value, { token_type_hint: 'access_token' });
      } catch (error) {
        throw new VerificationUnavailable('token introspection failed', { cause: error });
      }
      if (!answer.active) throw new InvalidTokenError('token is not active');
      const jkt = typeof answer.cnf?.jkt === 'string' ? answer.cnf.jkt : undefined;
      if (answer.token_type !== 'Bearer' && !(answer.token_type === 'DPoP' && jkt)) {
        throw new InvalidTokenError('not an access token');
      }
      const audience = Array.isArray(answer.aud) ? answer.aud : answer.aud ? [answer.aud] : [];
      if (audience.length !== 1 || !sameResource(audience[0]!, options.resource)) {
        throw new InvalidTokenError('token was not issued for this resource');
      }
      if (!answer.client_id || !answer.sub || typeof answer.exp !== 'number') {
        throw new InvalidTokenError('token is not bound to a client and account');
      }
      return {
        token: value,
        clientId: answer.client_id,
        scopes: answer.scope ? answer.scope.split(' ').filter(Boolean) : [],
        expiresAt: answer.exp,
        resource: new URL(audience[0]!),
        jkt,
        extra: { accountId: answer.sub },
      };
    },
  };
}
