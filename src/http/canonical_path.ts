// One spelling per path. The routers match loosely — @koa/router and the provider's router ignore
// case, the provider's also a trailing slash — while guards that look at `ctx.path` (a router's own
// `use()`, the rate limits, the metadata rewrite, CORS) compare exactly, so `/ADMIN/clients` once
// reached the admin routes without the operator check. Mounted first, this answers 404 to every path
// that is not spelled the one way its route is declared, so whatever a guard sees is what the router
// serves:
// - syntax: no empty segment (`//`, trailing `/`), no `.`/`..` segment, no percent-encoded unreserved
//   character (`%61` for `a`), only RFC 3986 path characters;
// - case: a path a route table matches must repeat that route's literal segments exactly.
import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
// The provider's routes live in its private instance state (lib/helpers/weak_cache.js); no public API
// lists them. Checked when the gate is built, so a library upgrade that moves them fails at start-up.
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { oauthErrorAnswer } from './error_answers.ts';

/** Declared route paths (`/reg/:clientId`) a request path may be served by, ignoring case. */
export type RouteTable = (method: string, path: string) => string[];

const PATH_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const PERCENT_ENCODING = /%(?![0-9A-Fa-f]{2})/;
/** ALPHA, DIGIT, '-', '.', '_', '~' (RFC 3986 §2.3): encoding them changes nothing but the spelling. */
const ENCODED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee])/;

export function hasCanonicalSyntax(path: string): boolean {
  if (!path.startsWith('/') || !PATH_CHARACTERS.test(path)) return false;
  if (PERCENT_ENCODING.test(path) || ENCODED_UNRESERVED.test(path)) return false;
  if (path === '/') return true;
  return path
    .slice(1)
    .split('/')
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Whether `path` repeats the literal segments of `declared` exactly (parameters match anything). */
export function spelledAsDeclared(path: string, declared: string): boolean {
  const actual = path.split('/');
  const expected = declared.split('/');
  if (actual.length !== expected.length) return false;
  return expected.every((segment, index) => /[:*{(]/.test(segment) || segment === actual[index]);
}

/** The routes of one of our @koa/router routers (its `use()` layers are not routes). */
export function routerTable(router: Router): RouteTable {
  return (method, path) =>
    router
      .match(path, method)
      .path.filter((layer) => layer.methods.length > 0 && typeof layer.path === 'string')
      .map((layer) => layer.path as string);
}

interface ProviderRouter {
  match(method: string, path: string): { route: { path: string } } | undefined;
}

/** The provider's own routes (lib/helpers/router.js), matched as it matches them. */
export function providerTable(provider: Provider): RouteTable {
  const router = (instance(provider) as { router?: ProviderRouter } | undefined)?.router;
  if (typeof router?.match !== 'function') {
    throw new Error('oidc-provider no longer exposes its router where the canonical-path gate reads it (lib/helpers/router.js)');
  }
  return (method, path) => {
    const matched = router.match(method, path);
    return matched ? [matched.route.path] : [];
  };
}

function notFound(ctx: Context): void {
  oauthErrorAnswer(ctx, 404, 'not_found', 'no such path (paths are case-sensitive and have one spelling)');
}

export function canonicalPaths(tables: RouteTable[]): Middleware {
  return async function requireCanonicalPath(ctx: Context, next: Next): Promise<void> {
    const { path, method } = ctx;
    const declared = tables.flatMap((table) => table(method, path));
    // A route declared with an unusual spelling (a resource path ending in '/') is its own canonical form.
    const exact = declared.includes(path);
    if (!exact && (!hasCanonicalSyntax(path) || declared.some((route) => !spelledAsDeclared(path, route)))) {
      notFound(ctx);
      return;
    }
    await next();
  };
}
