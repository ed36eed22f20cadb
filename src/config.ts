// The one place that reads process.env: every setting, its default and its meaning.
// The README's configuration table mirrors this file.
import { resolve } from 'node:path';
import { z } from 'zod';

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

const DAY = 24 * 60 * 60;

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ISSUER: optionalText.pipe(z.url().optional()),
  TRUST_PROXY: flag(false),
  DATABASE_URL: optionalText.pipe(z.url().optional()),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).default(10),
  DATABASE_ACQUIRE_TIMEOUT: z.coerce.number().int().positive().default(5000),
  DATABASE_CONNECT_TIMEOUT: z.coerce.number().int().positive().default(5000),
  DATABASE_STATEMENT_TIMEOUT: z.coerce.number().int().positive().default(15000),
  DATA_DIR: z.string().default('./data'),
  ACCESS_TOKEN_TTL: seconds(600),
  REFRESH_TOKEN_TTL: seconds(30 * DAY),
  GRANT_TTL: seconds(365 * DAY),
  SESSION_TTL: seconds(14 * DAY),
  MCP_RESOURCE: z.url().default('http://localhost:3001/mcp'),
  MCP_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  MCP_TOKEN_VALIDATION: z.enum(['database', 'introspection']).default('database'),
  MCP_INTROSPECTION_URL: optionalText.pipe(z.url().optional()),
  MCP_INTROSPECTION_CLIENT_ID: optionalText,
  MCP_INTROSPECTION_CLIENT_SECRET: optionalText,
  REGISTRATION_INITIAL_ACCESS_TOKEN: optionalText,
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  issuer: string;
  trustProxy: boolean;
  database: DatabaseSettings;
  ttl: { accessToken: number; refreshToken: number; grant: number; session: number };
  /** The protected resource (the MCP server) tokens are issued for. */
  resource: string;
  mcp: McpConfig;
  registrationInitialAccessToken: string | undefined;
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
  logLevel: string;
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
  /** Failed sign-ins per account, and per client address. */
  loginFailuresPerAccount: number;
  loginFailuresPerAddress: number;
  /** Requests per client address. */
  token: number;
  revoke: number;
  registration: number;
  admin: number;
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
    resource: env.MCP_RESOURCE,
    mcp: {
      port: env.MCP_PORT,
      tokenValidation: env.MCP_TOKEN_VALIDATION,
      introspection: {
        url: env.MCP_INTROSPECTION_URL ?? `${issuer}/introspect`,
        clientId: env.MCP_INTROSPECTION_CLIENT_ID,
        clientSecret: env.MCP_INTROSPECTION_CLIENT_SECRET,
      },
    },
    registrationInitialAccessToken: env.REGISTRATION_INITIAL_ACCESS_TOKEN,
    rateLimits: {
      windowSeconds: env.RATE_LIMIT_WINDOW,
      loginFailuresPerAccount: env.RATE_LIMIT_LOGIN_PER_ACCOUNT,
      loginFailuresPerAddress: env.RATE_LIMIT_LOGIN_PER_ADDRESS,
      token: env.RATE_LIMIT_TOKEN,
      revoke: env.RATE_LIMIT_REVOKE,
      registration: env.RATE_LIMIT_REGISTRATION,
      admin: env.RATE_LIMIT_ADMIN,
    },
    janitorInterval: env.JANITOR_INTERVAL,
    keys: { refreshInterval: env.KEYS_REFRESH_INTERVAL, gracePeriod: env.KEYS_GRACE_PERIOD },
    serve: env.SERVE,
    shutdownGracePeriod: env.SHUTDOWN_GRACE_PERIOD,
    logLevel: env.LOG_LEVEL,
  };
}
