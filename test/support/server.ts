// Starts the real authorization server on an ephemeral port for one suite.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import type { RevocationService } from '../../src/revocation/revocation_service.ts';
import { createAccount } from '../../src/storage/account_store.ts';
import { createAuthorizationServer } from '../../src/authorization_server.ts';
import { createResourceServerClient } from '../../src/admin/resource_server_clients.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/connect.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import type { ResourceRegistry } from '../../src/resources/resource_registry.ts';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './database.ts';

export interface TestServer {
  baseUrl: string;
  config: Config;
  provider: Provider;
  /** The same revocation service and adapters the server uses. */
  revocation: RevocationService;
  adapterFor: (model: string) => Adapter;
  /** The server's resource registry (refresh() after a change made around it). */
  resources: ResourceRegistry;
  db: Database;
  database: TestDatabase;
  server: Server;
  close(): Promise<void>;
}

export const TEST_PASSWORD = 'correct horse battery';

const REQUEST_LIMITS_OFF = { RATE_LIMIT_TOKEN: '0', RATE_LIMIT_REVOKE: '0', RATE_LIMIT_REGISTRATION: '0', RATE_LIMIT_ADMIN: '0', RATE_LIMIT_AUTHORIZE: '0' };

export interface TestServerOptions {
  kind?: DatabaseKind;
  env?: Record<string, string>;
  /** Reuse a database (e.g. to restart a server on the same data). */
  database?: TestDatabase;
  /** Listen on this port (e.g. a restart keeping its issuer); default: an ephemeral one. */
  port?: number;
  /** The servers' logger (e.g. one writing to a stream a test reads); default: TEST_LOG_LEVEL to stdout. */
  logger?: Logger;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase(options.kind));
  const server = createServer();
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  // Per-address request limits would stop suites that hammer one endpoint from 127.0.0.1 (races,
  // fuzzing); they are off unless a suite sets them (test/e2e/rate_limits.test.ts). Sign-in limits stay on.
  const config = loadConfig({ NODE_ENV: 'test', PORT: String(port), ISSUER: baseUrl, JANITOR_INTERVAL: '0', ...REQUEST_LIMITS_OFF, ...options.env });
  const { provider, app, revocation, adapterFor, resources } = await createAuthorizationServer(config, database.db, options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
  server.on('request', app.callback());
  return {
    baseUrl,
    config,
    provider,
    revocation,
    adapterFor,
    resources,
    db: database.db,
    database,
    server,
    async close() {
      server.closeAllConnections();
      server.close();
      await resources.stop();
      if (!options.database) await database.close();
    },
  };
}

let accountCounter = 0;

/** A new account with a unique email and TEST_PASSWORD. */
export async function createTestAccount(db: Database, prefix = 'user'): Promise<{ id: string; email: string }> {
  accountCounter += 1;
  const account = await createAccount(db, `${prefix}${accountCounter}-${Date.now()}@example.test`, TEST_PASSWORD);
  return { id: account.id, email: account.email };
}

/**
 * The client a resource server introspects with (what `clients create-resource-server` makes): the
 * only kind of client /introspect answers, for tokens of its resource (default: the MCP resource).
 */
export async function createIntrospector(
  server: Pick<TestServer, 'db' | 'adapterFor' | 'config'>,
  resource = server.config.resource,
): Promise<{ client_id: string; client_secret: string }> {
  const credentials = await createResourceServerClient(server.db, server.adapterFor('Client'), resource, 'test resource server');
  return { client_id: credentials.clientId, client_secret: credentials.clientSecret };
}
