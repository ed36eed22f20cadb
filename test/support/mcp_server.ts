// Starts the authorization server and the MCP server on ephemeral ports for one suite, the way
// `npm start` runs them: one provider, one database. MCP_RESOURCE names the MCP server's real port.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/logger.ts';
import { createConfiguredMcpApp } from '../../src/mcp/mcp_server.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';

export interface McpTestStack extends TestServer {
  /** The MCP endpoint, which is also the resource identifier. */
  mcpUrl: string;
  mcpServer: Server;
}

export async function startMcpTestStack(options: TestServerOptions = {}): Promise<McpTestStack> {
  const mcpServer = createServer();
  mcpServer.listen(0, '127.0.0.1');
  await once(mcpServer, 'listening');
  const { port } = mcpServer.address() as AddressInfo;
  const mcpUrl = `http://127.0.0.1:${port}/mcp`;
  const authorizationServer = await startTestServer({ ...options, env: { MCP_RESOURCE: mcpUrl, ...options.env } });
  const app = createConfiguredMcpApp({
    config: authorizationServer.config,
    provider: authorizationServer.provider,
    db: authorizationServer.db,
    logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  });
  mcpServer.on('request', app.callback());
  return {
    ...authorizationServer,
    mcpUrl,
    mcpServer,
    async close() {
      mcpServer.closeAllConnections();
      mcpServer.close();
      await authorizationServer.close();
    },
  };
}

/** One JSON-RPC tools/call over plain HTTP (stateless server: no initialize needed). */
export async function callTool(
  mcpUrl: string,
  token: string | undefined,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body, headers: response.headers };
}

/** Parses `Bearer a="1", b="2"` into { a: '1', b: '2' }. */
export function bearerChallenge(header: string | null): Record<string, string> {
  if (!header?.startsWith('Bearer ')) return {};
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]));
}
