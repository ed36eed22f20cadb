// Shutdown that drains: on SIGTERM (a supervisor, `docker stop`, Kubernetes) or SIGINT (Ctrl-C) the
// servers stop accepting connections and the requests in flight finish — up to a grace period, after
// which the connections still open (a stalled client, an MCP event stream) are cut — and only then do
// the process's own resources close (timers, key listener, database pool) and it exits 0. A second
// signal while draining changes nothing: npm forwards the signal it receives, so a process group that
// is signalled delivers it twice.
import type { Server } from 'node:http';
import type { Logger } from '../logger.ts';

export interface ShutdownPlan {
  servers: Server[];
  /** Seconds in-flight requests get to finish (SHUTDOWN_GRACE_PERIOD). */
  graceSeconds: number;
  logger: Logger;
  /** After the servers have closed: stop timers and listeners, close the database. */
  release(): Promise<void>;
}

export function shutDownOnSignals(plan: ShutdownPlan): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    shutDown(plan, signal).then(
      () => process.exit(0),
      (error: unknown) => {
        plan.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function shutDown(plan: ShutdownPlan, signal: NodeJS.Signals): Promise<void> {
  plan.logger.info({ signal, graceSeconds: plan.graceSeconds }, 'shutting down: finishing requests in flight');
  const cut = await Promise.all(plan.servers.map((server) => drain(server, plan.graceSeconds * 1000)));
  const connectionsCut = cut.reduce((total, count) => total + count, 0);
  if (connectionsCut > 0) plan.logger.warn({ connectionsCut }, 'grace period over: cut the connections still open');
  await plan.release();
  plan.logger.info('shut down');
}

/** Closes the server; resolves with the number of connections it had to cut at the deadline. */
function drain(server: Server, graceMs: number): Promise<number> {
  return new Promise((resolve) => {
    let cut = 0;
    // Keep-alive connections become idle as their last response ends: close each as soon as it does.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => {
      server.getConnections((_error, count) => {
        cut = count;
        server.closeAllConnections();
      });
    }, graceMs);
    server.close(() => {
      clearInterval(idleSweep);
      clearTimeout(deadline);
      resolve(cut);
    });
    server.closeIdleConnections();
  });
}
