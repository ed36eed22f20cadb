import { readFileSync } from 'node:fs';
import Router from '@koa/router';

const stylesheet = readFileSync(new URL('../../public/style.css', import.meta.url), 'utf8');

export function assetRoutes(): Router {
  const router = new Router();
  router.get('/assets/style.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  return router;
}
