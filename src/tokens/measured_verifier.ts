// An access-token verifier, counted (observability/metrics.ts): each verdict (valid, invalid) or its
// absence (unavailable), and its latency.
import { recordValidation } from '../observability/metrics.ts';
import { type AccessTokenVerifier, InvalidTokenError } from './access_token_verifier.ts';

export function measuredVerifier(verifier: AccessTokenVerifier, mode: string): AccessTokenVerifier {
  return {
    async verifyAccessToken(token) {
      const started = performance.now();
      try {
        const auth = await verifier.verifyAccessToken(token);
        recordValidation(mode, 'valid', (performance.now() - started) / 1000);
        return auth;
      } catch (error) {
        recordValidation(mode, error instanceof InvalidTokenError ? 'invalid' : 'unavailable', (performance.now() - started) / 1000);
        throw error;
      }
    },
  };
}
