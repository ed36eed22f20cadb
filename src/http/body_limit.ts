// Oversized request bodies are refused with 413 before anything reads them. Our own routes' parsers
// answer 413 themselves (their limits are smaller); the provider's parser (lib/shared/selective_body.js,
// 56 KiB) throws a plain Error that the library turns into 400 "failed to parse the request body", so
// for the provider's routes the limit is checked here: Content-Length up front, and a chunked body
// (no Content-Length) is counted as the provider reads it, and the 400 becomes a 413.
import type { Context, Next } from 'koa';
import { oauthErrorAnswer } from './error_answers.ts';

/** node-oidc-provider's own limit for form and JSON bodies. */
export const PROVIDER_BODY_LIMIT = 56 * 1024;

function tooLarge(ctx: Context, limit: number): void {
  ctx.set('Connection', 'close');
  oauthErrorAnswer(ctx, 413, 'invalid_request', `request body larger than ${limit} bytes`);
}

export function bodyLimit(limit = PROVIDER_BODY_LIMIT) {
  return async function limitBody(ctx: Context, next: Next): Promise<void> {
    const length = ctx.request.length;
    if (length !== undefined && length > limit) {
      tooLarge(ctx, limit);
      return;
    }
    let exceeded = false;
    if (length === undefined && ctx.req.headers['transfer-encoding'] !== undefined) {
      // The provider reads the body with req.iterator(): count what it receives.
      const req = ctx.req;
      const iterator = req.iterator.bind(req);
      req.iterator = ((options?: Parameters<typeof req.iterator>[0]) => {
        const inner = iterator(options);
        let received = 0;
        return (async function* counted() {
          for await (const chunk of inner) {
            received += (chunk as Buffer).length;
            if (received > limit) exceeded = true;
            yield chunk;
          }
        })();
      }) as typeof req.iterator;
    }
    await next();
    if (exceeded && ctx.status === 400) tooLarge(ctx, limit);
  };
}
