// Builds the MCP server from configuration: picks the token verifier (database or introspection)
// and listens on MCP_PORT. Used by `npm start` (next to the authorization server, sharing its
// provider and database) and by `npm run start:mcp` (alone).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { type AccessTokenVerifier, providerTokenVerifier } from '../tokens/access_token_verifier.ts';
import { type GrantUseRecorder, grantUseRecorder } from '../tokens/grant_use.ts';
import { introspectionTokenVerifier } from '../tokens/introspection_token_verifier.ts';
import { createMcpApp } from './mcp_app.ts';
import { measuredVerifier } from '../tokens/measured_verifier.ts';

export function createTokenVerifier(config: Config, provider: Provider, onUse?: GrantUseRecorder): AccessTokenVerifier {
  if (config.mcp.tokenValidation === 'introspection') {
    const { url, clientId, clientSecret } = config.mcp.introspection;
    return introspectionTokenVerifier({
      issuer: config.issuer,
      introspectionEndpoint: url,
      clientId: clientId!,
      clientSecret: clientSecret!,
      resource: config.resource,
    });
  }
  return providerTokenVerifier({ provider, resource: config.resource, onUse });
}

export interface McpServerDependencies {
  config: Config;
  provider: Provider;
  db: Database;
  logger: Logger;
  /** Defaults to config.mcp.port; 0 picks a free port. */
  port?: number;
  host?: string;
}

/** The MCP server's Koa app as configured: resource, issuer and token verifier from Config. */
export function createConfiguredMcpApp({ config, provider, db, logger }: McpServerDependencies): Koa {
  return createMcpApp({
    resource: config.resource,
    issuer: config.issuer,
    verifier: measuredVerifier(createTokenVerifier(config, provider, grantUseRecorder(db, logger)), config.mcp.tokenValidation),
    db,
    logger,
    trustProxy: config.trustProxy,
    notesPerAccount: config.mcp.notesPerAccount,
  });
}

export async function startMcpServer(dependencies: McpServerDependencies): Promise<Server> {
  const { config, port, host } = dependencies;
  const server = createServer(createConfiguredMcpApp(dependencies).callback());
  server.listen(port ?? config.mcp.port, host);
  await once(server, 'listening');
  return server;
}
