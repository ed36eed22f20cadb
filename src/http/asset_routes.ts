import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { type Brand, brandStylesheet } from './views/brand.ts';

const stylesheet = readFileSync(new URL('../../public/style.css', import.meta.url), 'utf8');

export function assetRoutes(brand: Brand): Router {
  const router = new Router();
  router.get('/assets/style.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  const brandCss = brandStylesheet(brand);
  router.get('/assets/brand.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = brandCss;
  });
  return router;
}
