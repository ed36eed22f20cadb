// `npm start`: migrate, then serve the authorization server and the MCP server (one process, one
// database); the janitor runs in the background.
import { once } from 'node:events';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/connect.ts';
import { prepareDatabase } from './db/prepare.ts';
import { createAuthorizationServer } from './authorization_server.ts';
import { createLogger } from './logger.ts';
import { startMcpServer } from './mcp/mcp_server.ts';
import { CLOCK_TOLERANCE } from './provider/configuration.ts';
import { purgeExpired } from './storage/janitor.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const started = performance.now();
const db = openDatabase(config.database);
const prepared = await prepareDatabase(db, config);
const { app, provider } = await createAuthorizationServer(config, db, logger);
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
const mcpServer = await startMcpServer({ config, provider, db, logger });
logger.info({ resource: config.resource, port: config.mcp.port, tokenValidation: config.mcp.tokenValidation }, 'MCP server listening');

const janitor =
  config.janitorInterval > 0
    ? setInterval(() => {
        purgeExpired(db, CLOCK_TOLERANCE)
          .then((counts) => logger.info({ counts }, 'janitor purged expired rows'))
          .catch((error: unknown) => logger.error({ err: error }, 'janitor failed'));
      }, config.janitorInterval * 1000).unref()
    : undefined;

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'shutting down');
  clearInterval(janitor);
  server.close();
  server.closeAllConnections();
  mcpServer.close();
  mcpServer.closeAllConnections();
  await db.destroy();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
