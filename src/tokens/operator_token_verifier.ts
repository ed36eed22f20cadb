// Verifies the admin API's bearer tokens: client-credentials tokens issued to an operator client for
// the admin audience. Same contract and error types as the access-token verifier beside it.
import type Provider from 'oidc-provider';
import { sameResource } from '../scopes.ts';
import {
  type AccessTokenVerifier,
  type AuthInfo,
  InvalidTokenError,
  storeBackedVerifier,
} from './access_token_verifier.ts';

export interface OperatorTokenVerifierOptions {
  provider: Provider;
  /** `$ISSUER/admin` */
  resource: string;
  isOperator: (clientId: string) => Promise<boolean>;
}

export function operatorTokenVerifier({ provider, resource, isOperator }: OperatorTokenVerifierOptions): AccessTokenVerifier {
  async function lookup(value: string): Promise<AuthInfo> {
    const token = await provider.ClientCredentials.find(value);
    if (!token || !token.isValid) throw new InvalidTokenError('token is unknown, revoked or expired');
    if (typeof token.aud !== 'string' || !sameResource(token.aud, resource)) {
      throw new InvalidTokenError('token was not issued for the admin API');
    }
    // A deleted or disabled client is not found; an operator demoted since issuance is refused.
    if (!token.clientId || !(await provider.Client.find(token.clientId)) || !(await isOperator(token.clientId))) {
      throw new InvalidTokenError('token client is not an operator');
    }
    return {
      token: value,
      clientId: token.clientId,
      scopes: token.scope ? token.scope.split(' ').filter(Boolean) : [],
      expiresAt: token.exp,
      resource: new URL(token.aud),
      jkt: token.jkt,
    };
  }

  return storeBackedVerifier(lookup);
}
