// `npm run start:mcp`: the MCP server alone, next to an authorization server that runs elsewhere on
// the same PostgreSQL database (the embedded database cannot be shared between processes).
import { loadConfig } from '../config.ts';
import { refuseUnsafeProduction } from '../production_policy.ts';
import { exitReadablyOnRefusal } from '../startup_refusal.ts';
import { openDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createLogger } from '../logger.ts';
import { shutDownOnSignals } from '../http/graceful_shutdown.ts';
import { startMcpServer } from './mcp_server.ts';
import { startMetricsServer } from '../observability/metrics_server.ts';
import { providerPages } from '../http/provider_pages.ts';
import { buildProvider } from '../provider/build_provider.ts';
import { acceptStoredClientScopes } from '../provider/registered_scopes.ts';
import { storedResources } from '../resources/resource_registry.ts';
import { createRevocationService } from '../revocation/revocation_service.ts';

exitReadablyOnRefusal();
const config = loadConfig();
refuseUnsafeProduction(config);
const logger = createLogger(config.logLevel);
if (config.database.url === undefined) {
  logger.fatal(
    'npm run start:mcp needs DATABASE_URL: the embedded database belongs to one process. ' +
      'Use `npm start` to run the MCP server with the authorization server, or set DATABASE_URL to their shared PostgreSQL.',
  );
  process.exit(1);
}
const db = openDatabase(config.database, logger);
await migrateToLatest(db);
// The provider is built as the authorization server builds it, for its models only (token, grant,
// client lookups): its routes are not served here.
const { provider, watchKeys } = await buildProvider({
  config,
  db,
  logger,
  revocation: createRevocationService(db, logger),
  pages: providerPages,
  resources: storedResources(db),
});
acceptStoredClientScopes(provider);
const server = await startMcpServer({ config, provider, db, logger });
// Its provider never signs here, but keeps the same keys as the authorization servers.
const keyWatch = await watchKeys([]);
const metricsServer = await startMetricsServer(config.metrics, logger);
logger.info(
  { resource: config.resource, port: config.mcp.port, issuer: config.issuer, tokenValidation: config.mcp.tokenValidation },
  'MCP server listening',
);

shutDownOnSignals({
  servers: [server],
  graceSeconds: config.shutdownGracePeriod,
  logger,
  async release() {
    await keyWatch.stop();
    metricsServer?.close();
    await db.destroy();
  },
});
