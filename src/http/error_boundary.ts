// Errors from our own routes become a readable page (or OAuth-style JSON for API callers);
// the stack goes to the log, never to the client.
//
// This is also the one place where "the database is unavailable" becomes 503 temporarily_unavailable
// with Retry-After, on every surface: errors thrown by our routes arrive here directly; errors inside
// the provider's routes are caught and rendered by the library as 500 server_error (or, at /authorize,
// redirected to the client), so the provider's `server_error` event hands them to this boundary
// (rememberServerError) and the response is replaced once the provider is done.
import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';
import { isDatabaseUnavailable, isUnstorableInput } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { negotiatedErrorAnswer } from './error_answers.ts';

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  error?: string;
  error_description?: string;
  message?: string;
}

const SERVER_ERROR = Symbol('serverError');

/** Registered on the provider's `server_error` event: the error behind a 500 the library rendered itself. */
export function rememberServerError(ctx: Context, error: unknown): void {
  (ctx.state as Record<symbol, unknown>)[SERVER_ERROR] = error;
}

function render(ctx: Context, status: number, code: string, description: string, prefer: 'html' | 'json' = 'html'): void {
  ctx.remove('Location');
  negotiatedErrorAnswer(ctx, status, code, description, prefer);
}

function unavailable(ctx: Context): void {
  // As the provider decides: JSON unless the caller asks for HTML (a browser).
  render(ctx, 503, 'temporarily_unavailable', 'The service is temporarily unavailable. Please try again in a few seconds.', 'json');
}

function unstorable(ctx: Context): void {
  render(ctx, 400, 'invalid_request', 'The request contains a value that cannot be stored (a NUL character, invalid text, or too long).', 'json');
}

/**
 * The database error behind a 5xx the provider rendered itself (or an /authorize error it redirected
 * to the client), if that is what happened in this request.
 */
function providerDatabaseError(ctx: Context): unknown {
  const error = (ctx.state as Record<symbol, unknown>)[SERVER_ERROR];
  if (error === undefined) return undefined;
  return ctx.status >= 500 || (ctx.status >= 300 && ctx.status < 400) ? error : undefined;
}

export function errorBoundary(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      const failure = providerDatabaseError(ctx);
      if (isDatabaseUnavailable(failure)) {
        logger.warn({ path: ctx.path }, 'database unavailable (provider route): answered 503');
        unavailable(ctx);
      } else if (isUnstorableInput(failure)) {
        unstorable(ctx);
      }
    } catch (caught) {
      const error = (caught ?? {}) as HttpishError;
      const status = error.status ?? error.statusCode ?? 500;
      if (isDatabaseUnavailable(caught)) {
        logger.warn({ err: caught, path: ctx.path }, 'database unavailable: answered 503');
        unavailable(ctx);
        return;
      }
      if (isUnstorableInput(caught)) {
        logger.warn({ path: ctx.path, code: (caught as { code?: unknown }).code }, 'unstorable input: answered 400');
        unstorable(ctx);
        return;
      }
      let code: string;
      let description: string;
      if (caught instanceof errors.SessionNotFound) {
        code = 'session_not_found';
        description = 'This sign-in page has expired or was opened in another browser. Start again from the application.';
      } else if (status < 500 && error.expose !== false) {
        code = error.error ?? 'invalid_request';
        description = error.error_description ?? error.message ?? 'The request could not be processed.';
      } else {
        logger.error({ err: caught, path: ctx.path }, 'request failed');
        code = 'server_error';
        description = 'An unexpected error occurred. Please try again later.';
      }
      render(ctx, status >= 400 && status < 600 ? status : 500, code, description);
    }
  };
}
