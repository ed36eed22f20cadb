// What each surface says when it refuses a dead token, asserted whole (status, error and the
// description that tells which rule refused it), so a refusal for the wrong reason fails.
import { expect } from 'chai';
import { bearerChallenge } from './mcp_server.ts';
import type { HttpResult } from './oauth_flow.ts';

/** The provider's fixed descriptions for /token refusals (node-oidc-provider lib/helpers/errors.js). */
const TOKEN_ENDPOINT_REFUSALS = {
  invalid_grant: { status: 400, error_description: 'grant request is invalid' },
  invalid_client: { status: 401, error_description: 'client authentication failed' },
} as const;

/** /token refused the request with `error` (and gave no token). */
export function expectTokenEndpointRefusal(result: HttpResult, error: keyof typeof TOKEN_ENDPOINT_REFUSALS, label?: string): void {
  const { status, error_description } = TOKEN_ENDPOINT_REFUSALS[error];
  expect({ status: result.status, ...result.body }, label).to.deep.equal({ status, error, error_description });
}

/** The MCP server answered 401 invalid_token with `description`, in its body and in its challenge alike. */
export function expectInvalidToken(response: { status: number; body: unknown; headers: Headers }, description: string, label?: string): void {
  const challenge = bearerChallenge(response.headers.get('www-authenticate'));
  expect(
    { status: response.status, body: response.body, challenge: { error: challenge.error, error_description: challenge.error_description } },
    label,
  ).to.deep.equal({
    status: 401,
    body: { error: 'invalid_token', error_description: description },
    challenge: { error: 'invalid_token', error_description: description },
  });
}
