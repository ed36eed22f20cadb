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
  DATA_DIR: z.string().default('./data'),
  ACCESS_TOKEN_TTL: seconds(600),
  REFRESH_TOKEN_TTL: seconds(30 * DAY),
  GRANT_TTL: seconds(365 * DAY),
  SESSION_TTL: seconds(14 * DAY),
  MCP_RESOURCE: z.url().default('http://localhost:3001/mcp'),
  REGISTRATION_INITIAL_ACCESS_TOKEN: optionalText,
  JANITOR_INTERVAL: z.coerce.number().int().min(0).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  issuer: string;
  trustProxy: boolean;
  database: { url: string | undefined; poolMax: number; dataDir: string };
  ttl: { accessToken: number; refreshToken: number; grant: number; session: number };
  /** The protected resource (the MCP server) tokens are issued for. */
  resource: string;
  registrationInitialAccessToken: string | undefined;
  /** Seconds between janitor runs; 0 turns the in-process janitor off. */
  janitorInterval: number;
  logLevel: string;
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
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    issuer: (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    trustProxy: env.TRUST_PROXY,
    database: { url: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX, dataDir: resolve(env.DATA_DIR) },
    ttl: {
      accessToken: env.ACCESS_TOKEN_TTL,
      refreshToken: env.REFRESH_TOKEN_TTL,
      grant: env.GRANT_TTL,
      session: env.SESSION_TTL,
    },
    resource: env.MCP_RESOURCE,
    registrationInitialAccessToken: env.REGISTRATION_INITIAL_ACCESS_TOKEN,
    janitorInterval: env.JANITOR_INTERVAL,
    logLevel: env.LOG_LEVEL,
  };
}
