// RFC 9728 Protected Resource Metadata for the bundled MCP server: the kit's document
// (src/resource_server/resource_metadata.ts) with its scopes, name and DPoP support.
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { MCP_SCOPES } from '../scopes.ts';
import {
  protectedResourceMetadata as resourceMetadata,
  resourceMetadataPaths,
  resourceMetadataUrl,
} from '../resource_server/resource_metadata.ts';
import { DPOP_SIGNING_ALGS } from '../scopes.ts';

export { resourceMetadataPaths as metadataPaths, resourceMetadataUrl as metadataUrl };

export function protectedResourceMetadata(resource: string, issuer: string): OAuthProtectedResourceMetadata {
  return resourceMetadata({
    resource,
    issuer,
    scopesSupported: Object.keys(MCP_SCOPES),
    resourceName: 'Portcullis MCP server',
    extra: {
      // RFC 9449 §5.1 / RFC 9728 §2: DPoP-bound tokens are accepted (and then required with a proof);
      // plain bearer tokens stay accepted, so binding is not required of every client.
      dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
      dpop_bound_access_tokens_required: false,
    },
  });
}
