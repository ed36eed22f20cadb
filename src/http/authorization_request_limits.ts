// Size limits on the unauthenticated front door: every /authorize and PAR (/request) request may make
// the provider write an Interaction or PushedAuthorizationRequest row (and echo `state` back), so
// their size is capped before the provider reads or stores anything:
// - the query string of /authorize (and of /request): AUTHORIZATION_QUERY_LIMIT bytes → 400;
// - a POST body (/authorize form post, /request): AUTHORIZATION_BODY_LIMIT bytes → 413;
// - `state`: STATE_LIMIT bytes (UTF-8, decoded), in the query or the body → 400.
// Errors are OAuth errors (invalid_request): JSON at /request, the error page at /authorize (a browser
// is looking at it). No redirect to the client: an oversized request is not echoed anywhere.
import type { Context, Middleware, Next } from 'koa';
import { oauthErrorAnswer, pageErrorAnswer } from './error_answers.ts';

export const AUTHORIZATION_QUERY_LIMIT = 8 * 1024;
export const AUTHORIZATION_BODY_LIMIT = 16 * 1024;
export const STATE_LIMIT = 1024;

type Endpoint = 'authorization' | 'par';
type Problem = { status: number; description: string };

/** The provider's router matches paths case-insensitively and with a trailing slash; so does this. */
function endpointFor(path: string, routes: Record<Endpoint, string>): Endpoint | undefined {
  const folded = path.replace(/\/+$/, '').toLowerCase();
  return (Object.keys(routes) as Endpoint[]).find((endpoint) => routes[endpoint] === folded);
}

function stateProblem(values: readonly string[]): Problem | undefined {
  return values.some((value) => Buffer.byteLength(value) > STATE_LIMIT)
    ? { status: 400, description: `state must not be longer than ${STATE_LIMIT} bytes` }
    : undefined;
}

function respond(ctx: Context, endpoint: Endpoint, problem: Problem): void {
  if (problem.status === 413) ctx.set('Connection', 'close');
  if (endpoint === 'authorization') pageErrorAnswer(ctx, problem.status, 'invalid_request', problem.description);
  else oauthErrorAnswer(ctx, problem.status, 'invalid_request', problem.description);
}

/**
 * Counts the body as the provider reads it (req.iterator, lib/shared/selective_body.js) and checks
 * `state` once it is complete; a problem makes the read fail, and `found` remembers which.
 */
function watchBody(ctx: Context, found: (problem: Problem) => void): void {
  const req = ctx.req;
  const iterator = req.iterator.bind(req);
  req.iterator = ((options?: Parameters<typeof req.iterator>[0]) => {
    const inner = iterator(options);
    return (async function* checked() {
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of inner) {
        received += (chunk as Buffer).length;
        if (received > AUTHORIZATION_BODY_LIMIT) {
          found({ status: 413, description: `request body larger than ${AUTHORIZATION_BODY_LIMIT} bytes` });
          throw new Error('authorization request body too large');
        }
        chunks.push(chunk as Buffer);
        yield chunk;
      }
      if (ctx.is('application/x-www-form-urlencoded')) {
        const problem = stateProblem(new URLSearchParams(Buffer.concat(chunks).toString()).getAll('state'));
        if (problem) {
          found(problem);
          throw new Error('state too long');
        }
      }
    })();
  }) as typeof req.iterator;
}

export function authorizationRequestLimits(routes: Record<Endpoint, string> = { authorization: '/authorize', par: '/request' }): Middleware {
  return async function limitAuthorizationRequest(ctx: Context, next: Next): Promise<void> {
    const endpoint = endpointFor(ctx.path, routes);
    if (!endpoint) return next();
    if (Buffer.byteLength(ctx.querystring) > AUTHORIZATION_QUERY_LIMIT) {
      return respond(ctx, endpoint, { status: 400, description: `query string larger than ${AUTHORIZATION_QUERY_LIMIT} bytes` });
    }
    const state = ctx.query.state;
    const inQuery = stateProblem(state === undefined ? [] : Array.isArray(state) ? state : [state]);
    if (inQuery) return respond(ctx, endpoint, inQuery);
    if (ctx.method !== 'POST') return next();
    const length = ctx.request.length;
    if (length !== undefined && length > AUTHORIZATION_BODY_LIMIT) {
      return respond(ctx, endpoint, { status: 413, description: `request body larger than ${AUTHORIZATION_BODY_LIMIT} bytes` });
    }
    let problem: Problem | undefined;
    watchBody(ctx, (found) => (problem = found));
    await next();
    // The provider answered its "failed to parse the request body"; say what was wrong instead.
    if (problem) respond(ctx, endpoint, problem);
  };
}
