// Serves the RFC 9728 document at its paths, as Express middleware (`app.use(handler)`) or from a
// node:http request listener (`if (handler(req, res)) return;`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestPath, sendJson } from './http_responses.ts';
import { protectedResourceMetadata, resourceMetadataPaths, type ResourceMetadataOptions } from './resource_metadata.ts';

export type MetadataHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => boolean;

export function protectedResourceMetadataHandler(options: ResourceMetadataOptions): MetadataHandler {
  const paths = new Set(resourceMetadataPaths(options.resource));
  const body = protectedResourceMetadata(options);
  return (req, res, next) => {
    if (!paths.has(requestPath(req)) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next?.();
      return false;
    }
    // Public and the same for everyone: browser-based MCP clients read it cross-origin.
    sendJson(res, 200, { 'Cache-Control': 'public, max-age=3600', 'Access-Control-Allow-Origin': '*' }, body);
    return true;
  };
}
