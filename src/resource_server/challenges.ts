// The answers a protected resource gives a refused request, one shape for every surface (the kit's
// Express and node:http middleware, the bundled MCP server):
// - no credentials: 401 with a bare challenge, no error code (RFC 6750 §3.1: the client may not know
//   yet that a token is needed);
// - a refused token: 401 error="invalid_token";
// - a token without the scopes the call needs: 403 error="insufficient_scope" with `scope` naming the
//   scopes to ask for (MCP step-up: clients add them to what they hold and re-authorize);
// - no verdict: 503 with Retry-After, no challenge (the token may well be good).
// Every challenge names the RFC 9728 metadata document (`resource_metadata`).
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../retry_after.ts';

export interface ChallengeFields {
  resource_metadata: string;
  error?: 'invalid_token' | 'insufficient_scope';
  error_description?: string;
  scope?: string;
}

/** The body and headers of a refusal, for whichever HTTP framework writes them. */
export interface Refusal {
  status: 401 | 403 | 503;
  headers: Record<string, string | string[]>;
  body: { error?: string; error_description?: string };
}

/** A quoted-string auth-param value; quotes and backslashes are dropped rather than escaped. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

/** `Bearer resource_metadata="…", error="…"` (fields in the order given, empty ones left out). */
export function challengeHeader(scheme: string, fields: Record<string, string | undefined>): string {
  const params = Object.entries(fields).flatMap(([name, value]) => (value === undefined || value === '' ? [] : [`${name}=${quoted(value)}`]));
  return params.length > 0 ? `${scheme} ${params.join(', ')}` : scheme;
}

export function unauthorized(fields: ChallengeFields): Refusal {
  return refusal(401, fields);
}

/**
 * The scope a 403 names: the scopes held plus the ones the call needs. Clients on MCP 2026-07-28
 * accumulate scopes from the challenge (SEP-2350); the current SDK client (2025-11-25) re-authorizes
 * with exactly the challenge's scope, so naming only the missing ones would cost it the ones it holds.
 */
export function stepUpScope(held: readonly string[], needed: readonly string[]): string {
  return [...new Set([...held, ...needed])].join(' ');
}

export function insufficientScope(fields: { resource_metadata: string; error_description?: string; scope: string }): Refusal {
  return refusal(403, { ...fields, error: 'insufficient_scope' });
}

function refusal(status: 401 | 403, fields: ChallengeFields): Refusal {
  // Without an error code the challenge carries no other error information either (RFC 6750 §3.1).
  const { error_description, ...challenged } = fields;
  const header = challengeHeader('Bearer', fields.error ? { ...challenged, error_description } : challenged);
  return {
    status,
    headers: { 'WWW-Authenticate': header, 'Cache-Control': 'no-store' },
    body: fields.error ? { error: fields.error, error_description } : { error_description },
  };
}

export function unavailable(): Refusal {
  return {
    status: 503,
    headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS), 'Cache-Control': 'no-store' },
    body: { error: 'temporarily_unavailable', error_description: 'token verification is unavailable, try again' },
  };
}
