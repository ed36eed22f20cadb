// The one place that reads process.env: every setting, its default and its meaning.
// The README's configuration table mirrors this file.
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadUpstreamProviders, type UpstreamProvider, UpstreamSettingsError } from './upstream_settings.ts';

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((value) => (value === undefined || value === '' ? fallback : ['true', '1', 'yes'].includes(value)));

/** A yes/no setting whose absence means "not chosen". */
const optionalFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : ['true', '1', 'yes'].includes(value)));
// TRUST_PROXY: how many reverse proxies append to X-Forwarded-For. false/no/0/empty: none (the
// socket address is the client); true/yes/1: one; a whole number: that many.
const proxyHops = z.union([flag(false).transform(Number), z.coerce.number().int().min(0).max(20)], {
  error: 'expected false, true or a number of proxy hops (0-20)',
});

const DAY = 24 * 60 * 60;

// Branding: shown on every page and in every mail, so nothing that could break out of text or a URL.
const brandName = optionalText.pipe(
  z
    .string()
    .max(60)
    .regex(/^[^\p{Cc}<>]*$/u, 'no control characters, < or >')
    .optional(),
);
const httpsUrl = optionalText.pipe(
  z
    .url()
    .refine((value) => new URL(value).protocol === 'https:', 'must be an https:// URL')
    .optional(),
);
const supportUrl = optionalText.pipe(
  z
    .url()
    .refine((value) => ['https:', 'mailto:'].includes(new URL(value).protocol), 'must be an https:// or mailto: URL')
    .optional(),
);
const hexColor = optionalText.pipe(
  z
    .string()
    .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'expected a hex colour such as #0b57d0')
    .optional(),
);
/** Rows per statement of the large set-based deletes (revocations, the janitor): bounds each step's work and locks. */
export const BATCH_SIZE = 5000;

/** PostgreSQL waits, milliseconds (DATABASE_*_TIMEOUT): a free pooled connection, a new connection, one statement. */
export const DATABASE_TIMEOUT_DEFAULTS = { acquireTimeoutMs: 5000, connectTimeoutMs: 5000, statementTimeoutMs: 15_000 } as const;

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ISSUER: optionalText.pipe(z.url().optional()),
  TRUST_PROXY: proxyHops,
  DATABASE_URL: optionalText.pipe(z.url().optional()),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).default(10),
  DATABASE_ACQUIRE_TIMEOUT: z.coerce.number().int().positive().default(DATABASE_TIMEOUT_DEFAULTS.acquireTimeoutMs),
  DATABASE_CONNECT_TIMEOUT: z.coerce.number().int().positive().default(DATABASE_TIMEOUT_DEFAULTS.connectTimeoutMs),
  DATABASE_STATEMENT_TIMEOUT: z.coerce.number().int().positive().default(DATABASE_TIMEOUT_DEFAULTS.statementTimeoutMs),
  DATA_DIR: z.string().default('./data'),
  ACCESS_TOKEN_TTL: seconds(600),
  REFRESH_TOKEN_TTL: seconds(30 * DAY),
  GRANT_TTL: seconds(365 * DAY),
  SESSION_TTL: seconds(14 * DAY),
  // Default: http://localhost:$MCP_PORT/mcp, so a changed MCP_PORT and the tokens' audience agree.
  MCP_RESOURCE: optionalText.pipe(z.url().optional()),
  MCP_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  MCP_TOKEN_VALIDATION: z.enum(['database', 'introspection']).default('database'),
  MCP_INTROSPECTION_URL: optionalText.pipe(z.url().optional()),
  MCP_INTROSPECTION_CLIENT_ID: optionalText,
  MCP_INTROSPECTION_CLIENT_SECRET: optionalText,
  NOTES_PER_ACCOUNT_MAX: z.coerce.number().int().positive().default(1000),
  REGISTRATION_INITIAL_ACCESS_TOKEN: optionalText,
  CLIENT_METADATA_ALLOW_LOOPBACK: flag(false),
  REGISTRATION_OPEN: optionalFlag,
  SECRETS_KEY: optionalText,
  SECRETS_KEY_FILE: optionalText,
  METRICS_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).default(9464),
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  JANITOR_INTERVAL: z.coerce.number().int().min(0).default(300),
  KEYS_REFRESH_INTERVAL: z.coerce.number().int().min(0).default(30),
  KEYS_GRACE_PERIOD: seconds(DAY),
  SERVE: z.enum(['all', 'authorization']).default('all'),
  SHUTDOWN_GRACE_PERIOD: z.coerce.number().min(0).default(10),
  RATE_LIMIT_WINDOW: z.coerce.number().int().positive().default(60),
  RATE_LIMIT_LOGIN_PER_ACCOUNT: z.coerce.number().int().min(0).default(10),
  RATE_LIMIT_LOGIN_PER_ADDRESS: z.coerce.number().int().min(0).default(100),
  RATE_LIMIT_TOKEN: z.coerce.number().int().min(0).default(1200),
  RATE_LIMIT_REVOKE: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_REGISTRATION: z.coerce.number().int().min(0).default(120),
  RATE_LIMIT_ADMIN: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_AUTHORIZE: z.coerce.number().int().min(0).default(300),
  RATE_LIMIT_ACCOUNT_MAIL_PER_ADDRESS: z.coerce.number().int().min(0).default(20),
  RATE_LIMIT_ACCOUNT_MAIL_PER_RECIPIENT: z.coerce.number().int().min(0).default(3),
  SIGNUP: z.enum(['off', 'open', 'invite']).default('off'),
  PASSWORD_RESET: optionalFlag,
  SMTP_URL: optionalText.pipe(
    z
      .url()
      .refine((value) => ['smtp:', 'smtps:'].includes(new URL(value).protocol), 'must be an smtp:// or smtps:// URL')
      .optional(),
  ),
  MAIL_FROM: optionalText,
  BRAND_NAME: brandName,
  BRAND_LOGO_URL: httpsUrl,
  BRAND_PRIMARY_COLOR: hexColor,
  BRAND_SUPPORT_URL: supportUrl,
  UPSTREAM_PROVIDERS_FILE: optionalText,
  PASSWORD_SIGN_IN: flag(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  issuer: string;
  /** Reverse proxies in front of the servers whose X-Forwarded-* headers are trusted (src/http/client_address.ts); 0: none. */
  trustProxy: number;
  database: DatabaseSettings;
  ttl: { accessToken: number; refreshToken: number; grant: number; session: number };
  /**
   * The bundled MCP server's resource URL (MCP_RESOURCE, default http://localhost:$MCP_PORT/mcp):
   * registered as a protected resource at the first start, and at every start while MCP_RESOURCE is
   * set (src/resources/default_resource.ts). Other resources are registered with `resources add`.
   */
  resource: string;
  /** Whether MCP_RESOURCE was set (not defaulted). */
  resourceFromEnvironment: boolean;
  mcp: McpConfig;
  registrationInitialAccessToken: string | undefined;
  /**
   * Local development only (CLIENT_METADATA_ALLOW_LOOPBACK, default false, refused in production):
   * Client ID Metadata Documents on https://localhost (127.0.0.1, [::1]) may be fetched. Every other
   * outgoing request (jwks_uri, sector_identifier_uri, ...) keeps the library's special-address guard.
   */
  clientMetadataAllowLoopback: boolean;
  /** REGISTRATION_OPEN: an explicit yes to open dynamic registration (production asks for a choice). */
  registrationOpen: boolean | undefined;
  /**
   * Keys that encrypt secrets at rest (src/secrets): SECRETS_KEY split at commas, newest first, or the
   * file SECRETS_KEY_FILE holding such a list; neither: `$DATA_DIR/secrets.key`, generated once.
   */
  secrets: { keys: string[]; keyFile: string | undefined };
  /** Where /metrics is served, off the public ports (METRICS_PORT, 0: any free port; `off`: nowhere). */
  metrics: { port: number | 'off'; host: string };
  /** Abuse limits, counted in the database across processes (src/http/rate_limit.ts). */
  rateLimits: RateLimitSettings;
  /** Seconds between janitor runs; 0 turns the in-process janitor off. */
  janitorInterval: number;
  /**
   * Server keys (signing, cookie): seconds between checks for a rotation made by another process
   * (KEYS_REFRESH_INTERVAL; a PostgreSQL notification usually arrives first; 0: notifications only),
   * and seconds a retired key stays usable and published (KEYS_GRACE_PERIOD).
   */
  keys: { refreshInterval: number; gracePeriod: number };
  /** What `npm start` serves (SERVE): `all` (authorization and MCP servers) or `authorization` only. */
  serve: 'all' | 'authorization';
  /** Seconds requests in flight get to finish after SIGTERM/SIGINT before their connections are cut (SHUTDOWN_GRACE_PERIOD). */
  shutdownGracePeriod: number;
  /** Self-service accounts: sign-up, email verification, forgotten password (src/accounts/self_service.ts). */
  selfService: SelfServiceSettings;
  /** Outgoing mail (SMTP_URL, MAIL_FROM); without SMTP_URL, outside production, mails are logged instead. */
  mail: MailSettings;
  /** What every page and mail calls this server (BRAND_*): default "Portcullis". */
  brand: BrandSettings;
  /**
   * How people sign in on the login page: the password form (PASSWORD_SIGN_IN, default true) and the
   * upstream OpenID providers of the file UPSTREAM_PROVIDERS_FILE names (src/federation, docs/federation.md).
   */
  signIn: { password: boolean; upstreams: UpstreamProvider[] };
  logLevel: string;
}

export interface SelfServiceSettings {
  /** SIGNUP: `off` (operators create accounts), `open` (anyone), `invite` (a link from `users invite`). */
  signup: 'off' | 'open' | 'invite';
  /** PASSWORD_RESET: "Forgot your password?" links by mail; default on when SMTP_URL is set. */
  passwordReset: boolean;
}

export interface MailSettings {
  smtpUrl: string | undefined;
  /** The From header (MAIL_FROM), default the brand's name at `no-reply@<issuer host>`. */
  from: string | { name: string; address: string };
}

export interface BrandSettings {
  name: string;
  /** An https URL (the CSP allows https images). */
  logoUrl: string | undefined;
  /** A hex colour for buttons and links. */
  primaryColor: string | undefined;
  /** Where users get help (https or mailto), linked under every page. */
  supportUrl: string | undefined;
}

export interface DatabaseSettings {
  url: string | undefined;
  poolMax: number;
  dataDir: string;
  /** PostgreSQL only, milliseconds: waiting for a pooled connection, opening one, running one statement. */
  acquireTimeoutMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

/** Per window of `windowSeconds`; 0 turns a limit off. */
export interface RateLimitSettings {
  windowSeconds: number;
  /** Mails the account forms send (sign-up, forgotten password, verification again), per client address and per recipient. */
  accountMailPerAddress: number;
  accountMailPerRecipient: number;
  /** Failed sign-ins per account, and per client address. */
  loginFailuresPerAccount: number;
  loginFailuresPerAddress: number;
  /** Requests per client address. */
  token: number;
  revoke: number;
  registration: number;
  admin: number;
  /** /authorize and PAR (/request) together: each may store an Interaction or a request object. */
  authorize: number;
}

export interface McpConfig {
  /** Port the MCP server listens on (MCP_PORT, default 3001). */
  port: number;
  /**
   * How the MCP server validates access tokens (MCP_TOKEN_VALIDATION): `database` reads them through
   * the provider's models and the shared adapter; `introspection` asks the authorization server's
   * RFC 7662 endpoint with a confidential resource-server client, for deployments without database access.
   */
  tokenValidation: 'database' | 'introspection';
  /** Introspection mode: the endpoint (MCP_INTROSPECTION_URL, default `<issuer>/introspect`) and client. */
  introspection: { url: string; clientId: string | undefined; clientSecret: string | undefined };
  /** Notes one account may keep through the notes_add tool (NOTES_PER_ACCOUNT_MAX, default 1000). */
  notesPerAccount: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  const issuer = (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  if (env.MCP_TOKEN_VALIDATION === 'introspection' && !(env.MCP_INTROSPECTION_CLIENT_ID && env.MCP_INTROSPECTION_CLIENT_SECRET)) {
    throw new ConfigError(
      'invalid configuration: MCP_TOKEN_VALIDATION=introspection needs MCP_INTROSPECTION_CLIENT_ID and MCP_INTROSPECTION_CLIENT_SECRET',
    );
  }
  if (env.CLIENT_METADATA_ALLOW_LOOPBACK && env.NODE_ENV === 'production') {
    throw new ConfigError('invalid configuration: CLIENT_METADATA_ALLOW_LOOPBACK is for local development and is refused with NODE_ENV=production');
  }
  if (env.REGISTRATION_OPEN === true && env.REGISTRATION_INITIAL_ACCESS_TOKEN !== undefined) {
    throw new ConfigError('invalid configuration: REGISTRATION_OPEN=true contradicts REGISTRATION_INITIAL_ACCESS_TOKEN (registration needs the token): set one');
  }
  const brand = env.BRAND_NAME ?? 'Portcullis';
  const upstreams = env.UPSTREAM_PROVIDERS_FILE === undefined ? [] : readUpstreams(env.UPSTREAM_PROVIDERS_FILE, environment);
  if (!env.PASSWORD_SIGN_IN && upstreams.length === 0) {
    throw new ConfigError('invalid configuration: PASSWORD_SIGN_IN=false needs UPSTREAM_PROVIDERS_FILE with at least one provider (else nobody can sign in)');
  }
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    issuer,
    trustProxy: env.TRUST_PROXY,
    database: {
      url: env.DATABASE_URL,
      poolMax: env.DATABASE_POOL_MAX,
      dataDir: resolve(env.DATA_DIR),
      acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT,
    },
    ttl: {
      accessToken: env.ACCESS_TOKEN_TTL,
      refreshToken: env.REFRESH_TOKEN_TTL,
      grant: env.GRANT_TTL,
      session: env.SESSION_TTL,
    },
    resource: env.MCP_RESOURCE ?? `http://localhost:${env.MCP_PORT}/mcp`,
    resourceFromEnvironment: env.MCP_RESOURCE !== undefined,
    mcp: {
      port: env.MCP_PORT,
      tokenValidation: env.MCP_TOKEN_VALIDATION,
      introspection: {
        url: env.MCP_INTROSPECTION_URL ?? `${issuer}/introspect`,
        clientId: env.MCP_INTROSPECTION_CLIENT_ID,
        clientSecret: env.MCP_INTROSPECTION_CLIENT_SECRET,
      },
      notesPerAccount: env.NOTES_PER_ACCOUNT_MAX,
    },
    registrationInitialAccessToken: env.REGISTRATION_INITIAL_ACCESS_TOKEN,
    clientMetadataAllowLoopback: env.CLIENT_METADATA_ALLOW_LOOPBACK,
    registrationOpen: env.REGISTRATION_OPEN,
    secrets: {
      keys: env.SECRETS_KEY?.split(',').map((key) => key.trim()).filter(Boolean) ?? [],
      keyFile: env.SECRETS_KEY_FILE === undefined ? undefined : resolve(env.SECRETS_KEY_FILE),
    },
    metrics: { port: env.METRICS_PORT, host: env.METRICS_HOST },
    rateLimits: {
      windowSeconds: env.RATE_LIMIT_WINDOW,
      loginFailuresPerAccount: env.RATE_LIMIT_LOGIN_PER_ACCOUNT,
      loginFailuresPerAddress: env.RATE_LIMIT_LOGIN_PER_ADDRESS,
      token: env.RATE_LIMIT_TOKEN,
      revoke: env.RATE_LIMIT_REVOKE,
      registration: env.RATE_LIMIT_REGISTRATION,
      admin: env.RATE_LIMIT_ADMIN,
      authorize: env.RATE_LIMIT_AUTHORIZE,
      accountMailPerAddress: env.RATE_LIMIT_ACCOUNT_MAIL_PER_ADDRESS,
      accountMailPerRecipient: env.RATE_LIMIT_ACCOUNT_MAIL_PER_RECIPIENT,
    },
    janitorInterval: env.JANITOR_INTERVAL,
    keys: { refreshInterval: env.KEYS_REFRESH_INTERVAL, gracePeriod: env.KEYS_GRACE_PERIOD },
    serve: env.SERVE,
    shutdownGracePeriod: env.SHUTDOWN_GRACE_PERIOD,
    selfService: { signup: env.SIGNUP, passwordReset: env.PASSWORD_RESET ?? env.SMTP_URL !== undefined },
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM ?? { name: brand, address: `no-reply@${new URL(issuer).hostname}` } },
    brand: { name: brand, logoUrl: env.BRAND_LOGO_URL, primaryColor: env.BRAND_PRIMARY_COLOR, supportUrl: env.BRAND_SUPPORT_URL },
    signIn: { password: env.PASSWORD_SIGN_IN, upstreams },
    logLevel: env.LOG_LEVEL,
  };
}

function readUpstreams(path: string, environment: NodeJS.ProcessEnv): UpstreamProvider[] {
  try {
    return loadUpstreamProviders(path, environment);
  } catch (error) {
    if (error instanceof UpstreamSettingsError) throw new ConfigError(`invalid configuration: ${error.message}`);
    throw error;
  }
}
