// Writing the kit's answers with node:http's own API, which Express's req/res extend: one writer for
// both frameworks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Refusal } from './challenges.ts';

export function sendJson(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: unknown): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(res, refusal.status, refusal.headers, refusal.body);
}

/** The request's path as the client sent it (Express's originalUrl: before a mount rewrote url). */
export function requestPath(req: IncomingMessage): string {
  const target = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  return target.split(/[?#]/, 1)[0]!;
}
