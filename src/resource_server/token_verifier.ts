// createTokenVerifier: the MCP SDK's OAuthTokenVerifier for one resource, in either of two modes with
// the same verdicts (test/kit/verifier_verdicts.test.ts holds them to one table):
// - database: reads the authorization server's PostgreSQL through the same models and adapter as the
//   bundled MCP server (src/tokens/access_token_verifier.ts): a revocation counts on the next call and
//   no request leaves the process;
// - introspection: asks the authorization server's RFC 7662 endpoint (found in its RFC 8414
//   metadata) with the resource's confidential client, for servers that must not reach the database.
// A refused token is the SDK's InvalidTokenError; no verdict is VerifierUnavailableError.
// Its declarations name only the SDK's and Knex's types: an importer needs no type package of ours.
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Knex } from 'knex';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/connect.ts';
import { createLogger } from '../logger.ts';
import { createModelProvider } from '../provider/model_provider.ts';
import { providerPages } from '../http/provider_pages.ts';
import { providerTokenVerifier } from '../tokens/access_token_verifier.ts';
import { grantUseRecorder } from '../tokens/grant_use.ts';
import { introspectionTokenVerifier } from '../tokens/introspection_token_verifier.ts';
import { discoveredIntrospectionEndpoint } from './introspection_discovery.ts';

export type { AuthInfo };

interface CommonOptions {
  /** The resource identifier tokens must have been issued for (RFC 8707), e.g. `https://mcp.example.com/mcp`. */
  resource: string;
}

export interface DatabaseModeOptions extends CommonOptions {
  /** The authorization server's PostgreSQL (`postgres://…`); the verifier opens a small pool of its own. */
  databaseUrl: string;
  /** Connections in that pool (default 5). */
  poolMax?: number;
}

export interface SharedDatabaseModeOptions extends CommonOptions {
  /** A Knex instance on the authorization server's database, owned by the caller (close() leaves it open). */
  database: Knex;
}

export interface IntrospectionModeOptions extends CommonOptions {
  /** The authorization server's issuer; its RFC 8414 metadata names the introspection endpoint. */
  issuer: string;
  introspection: {
    /** The resource's introspection client (`portcullis clients create-resource-server`). */
    clientId: string;
    clientSecret: string;
    /** Skips discovery. */
    endpoint?: string;
    /** Seconds before an unanswered request counts as unavailable (default 5). */
    timeout?: number;
  };
}

export type TokenVerifierOptions = DatabaseModeOptions | SharedDatabaseModeOptions | IntrospectionModeOptions;

export interface TokenVerifier extends OAuthTokenVerifier {
  verifyAccessToken(token: string): Promise<AuthInfo>;
  /** Releases what the verifier opened (its database pool). */
  close(): Promise<void>;
}

/** Short waits: a database that does not answer is a 503 within seconds, not a hung request. */
const KIT_DATABASE_TIMEOUTS = { acquireTimeoutMs: 3000, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };

const SILENT = createLogger('silent');

/** A configuration mistake is thrown at once, where it is made, not turned into 503s later. */
function refuse(problem: string): never {
  throw new TypeError(`createTokenVerifier: ${problem}`);
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (!URL.canParse(options?.resource)) refuse('resource must be the absolute URL tokens are issued for');
  if ('introspection' in options) {
    if (!URL.canParse(options.issuer)) refuse('issuer must be the authorization server’s issuer URL');
    if (!options.introspection?.clientId || !options.introspection.clientSecret) refuse('introspection needs clientId and clientSecret');
    return introspectionMode(options);
  }
  if ('database' in options) return databaseMode(options.resource, options.database, async () => {});
  if (!/^postgres(ql)?:\/\//.test(options.databaseUrl ?? '')) refuse('databaseUrl must be the authorization server’s postgres:// URL');
  // Knex's own connection warnings stay quiet: each failure reaches the caller as VerifierUnavailableError.
  const db = openDatabase({ url: options.databaseUrl, poolMax: options.poolMax ?? 5, dataDir: '', ...KIT_DATABASE_TIMEOUTS }, SILENT);
  return databaseMode(options.resource, db, () => db.destroy());
}

function databaseMode(resource: string, db: Knex, release: () => Promise<void>): TokenVerifier {
  const logger = SILENT;
  // The configuration the authorization server's provider is built with, for this resource (its issuer
  // only names routes, which a models-only provider never serves).
  const config = loadConfig({ MCP_RESOURCE: resource });
  const provider = createModelProvider({ config, db, logger, pages: providerPages });
  // Last use of each grant, shown on the account pages, as the bundled MCP server records it.
  const verifier = providerTokenVerifier({ provider, resource, onUse: grantUseRecorder(db, logger) });
  return { verifyAccessToken: (token) => verifier.verifyAccessToken(token), close: release };
}

function introspectionMode({ resource, issuer, introspection }: IntrospectionModeOptions): TokenVerifier {
  const { clientId, clientSecret, timeout } = introspection;
  // Discovered on first use, and again after a failed discovery (an authorization server still starting).
  let verifier: Promise<ReturnType<typeof introspectionTokenVerifier>> | undefined;
  const ready = () => {
    verifier ??= (async () => {
      const introspectionEndpoint = introspection.endpoint ?? (await discoveredIntrospectionEndpoint(issuer, timeout));
      return introspectionTokenVerifier({ issuer, introspectionEndpoint, clientId, clientSecret, resource, timeout });
    })();
    verifier.catch(() => (verifier = undefined));
    return verifier;
  };
  return {
    verifyAccessToken: async (token) => (await ready()).verifyAccessToken(token),
    close: async () => {},
  };
}
