// Request ids and access logs: every request gets an id (a sane incoming X-Request-Id, else a new
// UUID), echoed in the response, carried through async work (AsyncLocalStorage) so that every log
// line written while serving it names it, and one JSON access-log line at the end. Only the route
// template is logged, never the raw URL (query strings carry codes and state) or any header value.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

const requestContext = new AsyncLocalStorage<{ requestId: string }>();

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of the request being served, if any (the logger mixes it into every line). */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/** The route template a request matched (ours and the provider's routers both record it), or "other". */
export function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : 'other';
}

/** Koa middleware, mounted first: assigns the request id and writes the access-log line. */
export function requestLogging(server: string, logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    await requestContext.run({ requestId }, async () => {
      try {
        await next();
      } finally {
        const line = {
          server,
          method: ctx.method,
          route: routeOf(ctx),
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 100) / 100,
        };
        if (ctx.status >= 500) logger.warn(line, 'request');
        else logger.info(line, 'request');
      }
    });
  };
}
