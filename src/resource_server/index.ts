// `portcullis/resource-server`: what an MCP server (or any OAuth-protected API) imports to accept
// Portcullis access tokens. docs/protect-your-mcp-server.md shows it in use.
export { createTokenVerifier } from './token_verifier.ts';
export type {
  AuthInfo,
  DatabaseModeOptions,
  IntrospectionModeOptions,
  SharedDatabaseModeOptions,
  TokenVerifier,
  TokenVerifierOptions,
} from './token_verifier.ts';
export { InsufficientScopeError, InvalidTokenError, VerifierUnavailableError } from './errors.ts';
export { requireBearerAuth, type ExpressMiddleware } from './express.ts';
export { bearerAuthenticator, type RequestAuthenticator } from './node_http.ts';
export type { BearerAuthOptions } from './bearer_auth.ts';
export { protectedResourceMetadataHandler, type MetadataHandler } from './metadata_handler.ts';
export { protectedResourceMetadata, resourceMetadataUrl, type ResourceMetadataOptions } from './resource_metadata.ts';
export { scopesForToolCalls, toolCallScopes, type ToolScopes } from './tool_scopes.ts';
export { challengeHeader, type Refusal } from './challenges.ts';
