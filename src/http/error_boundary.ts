// Errors from our own routes become a readable page (or OAuth-style JSON for API callers);
// the stack goes to the log, never to the client.
import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';
import type { Logger } from '../logger.ts';
import { errorPage } from './views/message_pages.ts';

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  error?: string;
  error_description?: string;
  message?: string;
}

export function errorBoundary(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (caught) {
      const error = (caught ?? {}) as HttpishError;
      const status = error.status ?? error.statusCode ?? 500;
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
      ctx.status = status >= 400 && status < 600 ? status : 500;
      if (ctx.accepts('html', 'json') === 'html') {
        ctx.type = 'html';
        ctx.body = errorPage({ error: code, description });
      } else {
        ctx.body = { error: code, error_description: description };
      }
    }
  };
}
