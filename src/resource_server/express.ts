// Express middleware in place of the MCP SDK's requireBearerAuth (same options, same `req.auth`),
// with the answers that one gets wrong for an MCP server: an outage is 503 with Retry-After (the
// SDK's answers any error it does not know with 500), a request with no credentials gets a challenge
// without an error code (RFC 6750 §3.1), and a 403 names the scopes the call needs, which may depend
// on the request (`requiredScopes` as a function of it and its parsed body, e.g. toolCallScopes).
// It calls no Express API: Express's req and res are node:http's, so Express is not a dependency.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { BearerAuthOptions } from './bearer_auth.ts';
import { bearerAuthenticator } from './node_http.ts';

export type ExpressMiddleware = (req: IncomingMessage & { auth?: AuthInfo; body?: unknown }, res: ServerResponse, next: (error?: unknown) => void) => void;

export function requireBearerAuth(options: BearerAuthOptions): ExpressMiddleware {
  const authenticate = bearerAuthenticator(options);
  return (req, res, next) => {
    authenticate(req, res, req.body).then((auth) => auth && next(), next);
  };
}
