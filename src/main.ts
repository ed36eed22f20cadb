// `npm start`: migrate, then serve the authorization server and the MCP server (one process, one
// database; SERVE=authorization leaves the MCP server to `npm run start:mcp`); the janitor and the
// server-key watcher (rotations made by `portcullis keys rotate`) run in the background.
import { once } from 'node:events';
import { loadConfig } from './config.ts';
import { refuseUnsafeProduction } from './production_policy.ts';
import { exitReadablyOnRefusal } from './startup_refusal.ts';
import { openDatabase } from './db/connect.ts';
import { EmbeddedDatabaseInUseError } from './db/embedded_lock.ts';
import { prepareDatabase } from './storage/prepare.ts';
import { createAuthorizationServer } from './authorization_server.ts';
import { createLogger } from './logger.ts';
import { shutDownOnSignals } from './http/graceful_shutdown.ts';
import { startMcpServer } from './mcp/mcp_server.ts';
import { CLOCK_TOLERANCE } from './provider/configuration.ts';
import { purgeExpired } from './storage/janitor.ts';
import { recordJanitorRun } from './observability/metrics.ts';
import { printStartupMessage } from './startup_message.ts';
import { startMetricsServer } from './observability/metrics_server.ts';

exitReadablyOnRefusal();
const config = loadConfig();
refuseUnsafeProduction(config);
const logger = createLogger(config.logLevel);
const started = performance.now();
const db = openOwnDatabase();
const prepared = await prepareDatabase(db, config);
const { app, provider, resources, watchKeys } = await createAuthorizationServer(config, db, logger);
const server = app.listen(config.port);
await once(server, 'listening');
logger.info(
  {
    issuer: config.issuer,
    port: config.port,
    database: config.database.url ? 'postgresql' : `embedded (${config.database.dataDir})`,
    migrations: prepared.migrations.length,
    seeded: prepared.seeded,
    startupMs: Math.round(performance.now() - started),
  },
  'authorization server listening',
);
const keyWatch = await watchKeys([app]);
const mcpServer = config.serve === 'all' ? await startMcpServer({ config, provider, db, logger }) : undefined;
if (mcpServer) {
  logger.info({ resource: config.resource, port: config.mcp.port, tokenValidation: config.mcp.tokenValidation }, 'MCP server listening');
}
await printStartupMessage({ config, db, servesMcp: mcpServer !== undefined });

const metricsServer = await startMetricsServer(config.metrics, logger);

const janitor =
  config.janitorInterval > 0
    ? setInterval(() => {
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        purgeExpired(db, CLOCK_TOLERANCE)
          .then((counts) => {
            recordJanitorRun('ok', seconds(), counts);
            logger.info({ counts }, 'janitor purged expired rows');
          })
          .catch((error: unknown) => {
            recordJanitorRun('failed', seconds());
            logger.error({ err: error }, 'janitor failed');
          });
      }, config.janitorInterval * 1000).unref()
    : undefined;

function openOwnDatabase() {
  try {
    return openDatabase(config.database, logger);
  } catch (error) {
    if (!(error instanceof EmbeddedDatabaseInUseError)) throw error;
    logger.fatal(`${error.message}: another server already runs on this DATA_DIR; stop it first, or give this one its own DATA_DIR`);
    process.exit(1);
  }
}

shutDownOnSignals({
  servers: mcpServer ? [server, mcpServer] : [server],
  graceSeconds: config.shutdownGracePeriod,
  logger,
  async release() {
    clearInterval(janitor);
    await keyWatch.stop();
    await resources.stop();
    metricsServer?.close();
    await db.destroy();
  },
});
