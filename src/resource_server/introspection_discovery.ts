// The introspection endpoint, from the authorization server's RFC 8414 metadata (path-inserted for an
// issuer with a path, as MCP clients look it up). No answer is VerifierUnavailableError: the server
// may be starting, and the next verification tries again.
import * as oauth from 'openid-client';
import { VerificationUnavailable } from '../tokens/verification_unavailable.ts';

export async function discoveredIntrospectionEndpoint(issuer: string, timeout = 5): Promise<string> {
  const server = new URL(issuer);
  let metadata: oauth.ServerMetadata;
  try {
    const configuration = await oauth.discovery(server, 'introspection-discovery', undefined, undefined, {
      algorithm: 'oauth2',
      timeout,
      ...(server.protocol === 'http:' ? { execute: [oauth.allowInsecureRequests] } : {}),
    });
    metadata = configuration.serverMetadata();
  } catch (error) {
    throw new VerificationUnavailable(`the authorization server's metadata (${issuer}) could not be read`, { cause: error });
  }
  if (typeof metadata.introspection_endpoint !== 'string') {
    throw new VerificationUnavailable(`the authorization server ${issuer} advertises no introspection_endpoint`);
  }
  return metadata.introspection_endpoint;
}
