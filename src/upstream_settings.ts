// The upstream OpenID providers people may sign in with, read once at start-up from the JSON file
// UPSTREAM_PROVIDERS_FILE names (docs/federation.md). Client secrets stay out of the database: each is
// given in the file, or as a reference to an environment variable or to a file of its own.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

export interface UpstreamProvider {
  /** Names the provider in URLs (`/upstream/<id>/callback`) and in the CLI: lowercase letters, digits, dashes. */
  id: string;
  /** Shown on the button: "Sign in with <displayName>". */
  displayName: string;
  /** The OpenID provider's issuer; its metadata is discovered at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Undefined: a public client (PKCE only). */
  clientSecret: string | undefined;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
  scope: string;
  /** The upstream claim that becomes the email of an account made for a new upstream user. */
  emailClaim: string;
  /** Make an account only from an email the upstream marks verified (`email_verified: true`). */
  requireVerifiedEmail: boolean;
  /** New upstream users get an account at their first sign-in; otherwise an operator must link one. */
  autoProvision: boolean;
}

/** A secret given in the file, or where to read it: `{ "env": "NAME" }`, `{ "file": "/path" }`. */
const secretSource = z.union([
  z.string().min(1),
  z.strictObject({ env: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
]);

const providerSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes (at most 40)'),
  displayName: z.string().trim().min(1).max(80),
  issuer: z.url({ protocol: /^https?$/ }),
  clientId: z.string().min(1),
  clientSecret: secretSource.optional(),
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  scope: z
    .string()
    .default('openid email')
    .refine((scope) => scope.split(/\s+/).includes('openid'), 'must include openid'),
  claims: z.strictObject({ email: z.string().min(1).default('email') }).default({ email: 'email' }),
  requireVerifiedEmail: z.boolean().default(true),
  autoProvision: z.boolean().default(false),
});

const fileSchema = z.strictObject({
  providers: z.array(providerSchema).refine((list) => new Set(list.map((p) => p.id)).size === list.length, 'provider ids must be unique'),
});

/** Why the file cannot be used, in one line naming the setting. */
export class UpstreamSettingsError extends Error {
  override name = 'UpstreamSettingsError';
}

function readSecret(source: z.infer<typeof secretSource>, environment: NodeJS.ProcessEnv, where: string): string {
  if (typeof source === 'string') return source;
  if ('env' in source) {
    const value = environment[source.env];
    if (!value) throw new UpstreamSettingsError(`${where}: environment variable ${source.env} is not set`);
    return value;
  }
  try {
    const value = readFileSync(resolve(source.file), 'utf8').trim();
    if (value) return value;
  } catch (error) {
    throw new UpstreamSettingsError(`${where}: cannot read ${source.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  throw new UpstreamSettingsError(`${where}: ${source.file} is empty`);
}

/** Reads and checks the providers file; secrets given by reference are read now. */
export function loadUpstreamProviders(path: string, environment: NodeJS.ProcessEnv): UpstreamProvider[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(resolve(path), 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not JSON (${error.message})` : `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new UpstreamSettingsError(`UPSTREAM_PROVIDERS_FILE ${path}: ${reason}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new UpstreamSettingsError(`UPSTREAM_PROVIDERS_FILE ${path}: ${problems.join('; ')}`);
  }
  return parsed.data.providers.map((provider, index) => ({
    id: provider.id,
    displayName: provider.displayName,
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret === undefined ? undefined : readSecret(provider.clientSecret, environment, `providers.${index}.clientSecret`),
    tokenEndpointAuthMethod: provider.tokenEndpointAuthMethod,
    scope: provider.scope,
    emailClaim: provider.claims.email,
    requireVerifiedEmail: provider.requireVerifiedEmail,
    autoProvision: provider.autoProvision,
  }));
}
