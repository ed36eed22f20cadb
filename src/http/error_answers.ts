// The three kinds of error answer, each rendered here only: OAuth-style JSON (RFC 6749 §5.2's
// `error` and `error_description`, also the admin API's and the MCP server's bearer errors), an HTML
// page for browsers, and JSON-RPC for the MCP endpoint. Every 503 of any kind carries the one
// Retry-After (retry_after.ts) and is not cached.
import type { Context } from 'koa';
import { setUnavailableRetryAfter } from '../retry_after.ts';
import { errorPage } from './views/message_pages.ts';

function unavailableHeaders(ctx: Context, status: number): void {
  if (status !== 503) return;
  setUnavailableRetryAfter(ctx);
  ctx.set('Cache-Control', 'no-store');
}

/** `{ error, error_description }` (no `error` for a bare RFC 6750 §3.1 challenge). */
export function oauthErrorAnswer(ctx: Context, status: number, error: string | undefined, description: string): void {
  ctx.status = status;
  unavailableHeaders(ctx, status);
  ctx.body = error === undefined ? { error_description: description } : { error, error_description: description };
}

/** The readable error page. */
export function pageErrorAnswer(ctx: Context, status: number, error: string, description?: string): void {
  ctx.status = status;
  unavailableHeaders(ctx, status);
  ctx.type = 'html';
  ctx.body = errorPage({ error, ...(description === undefined ? {} : { description }) });
}

/** A page for a browser, JSON for anything else; `prefer` decides when the caller accepts both or neither. */
export function negotiatedErrorAnswer(ctx: Context, status: number, error: string, description: string, prefer: 'html' | 'json'): void {
  const chosen = prefer === 'html' ? ctx.accepts('html', 'json') : ctx.accepts('json', 'html');
  if (chosen === 'html') pageErrorAnswer(ctx, status, error, description);
  else oauthErrorAnswer(ctx, status, error, description);
}

/** JSON-RPC 2.0 error with no request id (the request could not be read, or failed before one). */
export function jsonRpcErrorAnswer(ctx: Context, status: number, code: number, message: string): void {
  ctx.status = status;
  unavailableHeaders(ctx, status);
  ctx.body = { jsonrpc: '2.0', error: { code, message }, id: null };
}
