// The verdicts a resource server tells apart: the MCP SDK's OAuth errors for a token that is refused
// (invalid, expired, revoked, another resource's; or lacking a scope), and VerifierUnavailableError for
// no verdict at all (the database or the authorization server did not answer) — a 503, never a 500
// and never a pass.
export { InsufficientScopeError, InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
export { VerificationUnavailable as VerifierUnavailableError } from '../tokens/verification_unavailable.ts';
