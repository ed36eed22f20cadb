// /metrics on its own management listener (METRICS_HOST:METRICS_PORT, loopback by default), never
// on the public ports: the counters tell an outsider how busy the server is and which clients fail.
// One registry per process, so one listener serves both servers `npm start` runs.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { type Config, ConfigError } from '../config.ts';
import type { Logger } from '../logger.ts';
import { metricsEndpoint } from './metrics.ts';

export function createMetricsApp(): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  router.get('/metrics', metricsEndpoint);
  app.use(router.routes());
  return app;
}

/** Listens as configured (`off`: not at all); a port that cannot be had is a refusal naming METRICS_PORT. */
export async function startMetricsServer(settings: Config['metrics'], logger: Logger): Promise<Server | undefined> {
  if (settings.port === 'off') return undefined;
  const server = createMetricsApp().listen(settings.port, settings.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  } catch (error) {
    throw new ConfigError(`METRICS_PORT: cannot listen on ${settings.host}:${settings.port} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const { address, port } = server.address() as AddressInfo;
  logger.info({ metrics: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics` }, 'metrics listening');
  return server;
}
