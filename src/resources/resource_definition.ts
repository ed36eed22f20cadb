// What a protected resource may be, checked once for every surface (CLI, admin API, start-up): its
// URL is normalized here so the indicator a client sends, the audience in its token and the
// registry's key compare equal.
import { z } from 'zod';
import { OIDC_SCOPES } from '../scopes.ts';
import type { ResourceChanges, ResourceScope } from '../storage/resource_store.ts';

/** A definition (or change) that cannot be stored; the message says what to fix. */
export class InvalidResourceDefinition extends Error {
  override name = 'InvalidResourceDefinition';
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_ACCESS_TOKEN_TTL = 24 * 60 * 60;

/**
 * An RFC 8707 resource indicator as the registry keys it: an absolute http(s) URL without fragment or
 * credentials, as WHATWG URL serializes it (lower-case host, no default port), without trailing
 * slashes (MCP clients send `new URL(x).href`, which adds one to a bare origin).
 */
export function normalizeResourceUrl(input: string): string {
  const url = URL.parse(input.trim());
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new InvalidResourceDefinition(`not an http(s) URL: ${JSON.stringify(input)}`);
  }
  if (url.hash || input.includes('#')) throw new InvalidResourceDefinition('a resource URL must not have a fragment (RFC 8707 §2)');
  if (url.username || url.password) throw new InvalidResourceDefinition('a resource URL must not carry credentials');
  return url.href.replace(/\/+$/, '');
}

/** The indicator normalized, or undefined for one that cannot name a resource at all. */
export function resourceKey(indicator: string): string | undefined {
  try {
    return normalizeResourceUrl(indicator);
  } catch (error) {
    if (error instanceof InvalidResourceDefinition) return undefined;
    throw error;
  }
}

const scopeSchema = z.object({
  name: z
    .string()
    .regex(SCOPE_TOKEN, 'a scope name is 1-128 printable characters without spaces, quotes or backslashes')
    .refine((name) => !(name in OIDC_SCOPES), { message: `${Object.keys(OIDC_SCOPES).join(', ')} are OpenID Connect scopes of the server` }),
  description: z
    .string()
    .trim()
    .min(1, 'each scope needs a description: the consent page shows it')
    .max(200)
    .refine((text) => !/[\r\n]/.test(text), { message: 'a description is one line' }),
});

const scopesSchema = z
  .array(scopeSchema)
  .min(1, 'a resource needs at least one scope')
  .max(50)
  .refine((scopes) => new Set(scopes.map((scope) => scope.name)).size === scopes.length, { message: 'scope names repeat' });

const nameSchema = z.string().trim().min(1, 'a resource needs a display name').max(100);
const ttlSchema = z.number().int().min(1).max(MAX_ACCESS_TOKEN_TTL);

function check<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${[field, ...issue.path].join('.')}: ${issue.message}`);
  throw new InvalidResourceDefinition(problems.join('; '));
}

export interface ResourceDefinition {
  url: string;
  name: string;
  scopes: ResourceScope[];
  accessTokenTtl: number | undefined;
}

export function checkResourceDefinition(input: { url: string; name: string; scopes: unknown; accessTokenTtl?: number | undefined }): ResourceDefinition {
  return {
    url: normalizeResourceUrl(input.url),
    name: check(nameSchema, input.name, 'name'),
    scopes: check(scopesSchema, input.scopes, 'scopes'),
    accessTokenTtl: input.accessTokenTtl === undefined ? undefined : check(ttlSchema, input.accessTokenTtl, 'access_token_ttl'),
  };
}

export function checkResourceChanges(changes: ResourceChanges): ResourceChanges {
  const checked: ResourceChanges = {
    name: changes.name === undefined ? undefined : check(nameSchema, changes.name, 'name'),
    scopes: changes.scopes === undefined ? undefined : check(scopesSchema, changes.scopes, 'scopes'),
    accessTokenTtl:
      changes.accessTokenTtl === undefined || changes.accessTokenTtl === null
        ? changes.accessTokenTtl
        : check(ttlSchema, changes.accessTokenTtl, 'access_token_ttl'),
  };
  if (Object.values(checked).every((value) => value === undefined)) throw new InvalidResourceDefinition('nothing to change');
  return checked;
}

/** `name=description` (the CLI's --scope), split at the first `=`. */
export function parseScopeArgument(argument: string): ResourceScope {
  const at = argument.indexOf('=');
  if (at <= 0) throw new InvalidResourceDefinition(`--scope wants name=description, got ${JSON.stringify(argument)}`);
  return { name: argument.slice(0, at).trim(), description: argument.slice(at + 1).trim() };
}
