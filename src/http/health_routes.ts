import Router from '@koa/router';
import type { Database } from '../db/connect.ts';
import { pingDatabase } from '../db/health.ts';
import { setUnavailableRetryAfter } from '../retry_after.ts';

export function healthRoutes(db: Database): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const database = await pingDatabase(db);
    ctx.status = database ? 200 : 503;
    if (!database) setUnavailableRetryAfter(ctx);
    ctx.body = { status: database ? 'ok' : 'unavailable', database: database ? 'up' : 'down' };
  });
  return router;
}
