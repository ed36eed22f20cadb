// For a plain node:http server: `const auth = await authenticate(req, res, body)` resolves the
// caller's AuthInfo, or answers the request itself (401 / 403 / 503) and resolves undefined. The
// AuthInfo is also set as `req.auth`, where the MCP SDK's StreamableHTTPServerTransport reads it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { type BearerAuthOptions, bearerAuthentication } from './bearer_auth.ts';
import { sendRefusal } from './http_responses.ts';

export type RequestAuthenticator = (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body?: unknown) => Promise<AuthInfo | undefined>;

export function bearerAuthenticator(options: BearerAuthOptions): RequestAuthenticator {
  const authenticateBearer = bearerAuthentication(options);
  return async (req, res, body) => {
    const outcome = await authenticateBearer(req.headers.authorization, req, body);
    if ('refusal' in outcome) {
      sendRefusal(res, outcome.refusal);
      return undefined;
    }
    req.auth = outcome.auth;
    return outcome.auth;
  };
}
