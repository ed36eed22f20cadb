// A minimal MCP server on the official TypeScript SDK and Express, protected by Portcullis.
// Plain JavaScript: copy it into your project and run `node server.mjs`. Configuration:
//   ISSUER        the Portcullis authorization server, e.g. https://auth.example.com
//   RESOURCE      this server's MCP endpoint as registered there (default http://localhost:$PORT/mcp)
//   PORT          default 3002
//   and either DATABASE_URL (database mode: the authorization server's PostgreSQL)
//   or INTROSPECTION_CLIENT_ID + INTROSPECTION_CLIENT_SECRET (introspection mode, RFC 7662).
import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  createTokenVerifier,
  protectedResourceMetadataHandler,
  requireBearerAuth,
  resourceMetadataUrl,
  toolCallScopes,
} from 'portcullis/resource-server';

const env = process.env;
const port = Number(env.PORT ?? 3002);
const issuer = env.ISSUER;
const resource = env.RESOURCE ?? `http://localhost:${port}/mcp`;
if (!issuer) throw new Error('set ISSUER (the Portcullis authorization server)');

// The scope each tool needs: this server's own, registered with
// `portcullis resources add <RESOURCE> --scope example:echo=... --scope example:profile=...`.
const TOOL_SCOPES = { echo: 'example:echo', whoami: 'example:profile' };

const verifier = createTokenVerifier(
  env.DATABASE_URL
    ? { resource, databaseUrl: env.DATABASE_URL }
    : { resource, issuer, introspection: { clientId: env.INTROSPECTION_CLIENT_ID, clientSecret: env.INTROSPECTION_CLIENT_SECRET } },
);

function createServer() {
  const server = new McpServer({ name: 'example-mcp-server', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes the text back.', inputSchema: { text: z.string().max(1000) } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool('whoami', { description: 'The client and scopes of the access token.' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify({ clientId: extra.authInfo?.clientId, scopes: extra.authInfo?.scopes }) }],
  }));
  return server;
}

const app = express();
app.use(protectedResourceMetadataHandler({ resource, issuer, scopesSupported: [...new Set(Object.values(TOOL_SCOPES))] }));
const endpoint = new URL(resource).pathname;
app.post(
  endpoint,
  express.json(),
  requireBearerAuth({ verifier, resourceMetadataUrl: resourceMetadataUrl(resource), requiredScopes: toolCallScopes(TOOL_SCOPES) }),
  async (req, res) => {
    // Stateless Streamable HTTP: a server and transport per request; req.auth reaches the tools as extra.authInfo.
    const server = createServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  },
);
app.all(endpoint, (_req, res) => res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));

const listener = app.listen(port, () => console.log(`MCP server on ${resource}, tokens from ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => listener.close(() => verifier.close().then(() => process.exit(0))));
}
