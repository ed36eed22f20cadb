// The issue-13 comparison, in one process and one run: refresh_token grants/s and MCP tools/call/s
// for three stacks on the same provider configuration, the same HTTP apps and the same MCP tools:
// - portcullis: this project on PostgreSQL, the MCP server validating through the shared adapter
//   (as `npm start` runs it), request limits on (set high enough never to refuse);
// - memory + introspection: oidc-provider's in-memory adapter, the MCP server introspecting over HTTP;
// - memory + JWT: the in-memory adapter issuing JWT access tokens that the MCP server verifies
//   locally — the stateless lower bound, which cannot be revoked.
// Every stack's whoami reads the account from the same PostgreSQL database. autocannon runs in a
// child process; variants alternate order round by round; the best round is reported (noise on a
// shared machine only ever slows a round down).
import type { Server } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { inBatches, listen } from './serving.ts';
import { memoryProvider } from './memory_provider.ts';
import Provider from 'oidc-provider';
import { createAccount } from '../src/storage/account_store.ts';
import { createAuthorizationServer } from '../src/authorization_server.ts';
import { loadConfig } from '../src/config.ts';
import { createHttpApp } from '../src/http/app.ts';
import { loadOrCreateServerKeys } from '../src/storage/key_store.ts';
import { createLogger } from '../src/logger.ts';
import { createMcpApp } from '../src/mcp/mcp_app.ts';
import { createConfiguredMcpApp } from '../src/mcp/mcp_server.ts';
import { type AccessTokenVerifier, InvalidTokenError } from '../src/tokens/access_token_verifier.ts';
import { introspectionTokenVerifier } from '../src/tokens/introspection_token_verifier.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { mintGrant, mintRefreshToken } from '../test/support/tokens.ts';
import { type CpuCost, measureCpu } from './cpu_cost.ts';
import { type LoadJob, runLoad, type LoadResult } from './load.ts';

import { BENCH_ENV, type Row } from './stats.ts';

type LoadJobWithoutConnections = Omit<LoadJob, 'connections'>;

const CLIENT_ID = 'bench-public-client';
const RESOURCE_SERVER_ID = 'bench-resource-server';
const RESOURCE_SERVER_SECRET = 'bench-resource-server-secret-0123456789';
const SCOPE = 'mcp:read mcp:write';
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });

export type StackName = 'portcullis' | 'memory + introspection' | 'memory + JWT';

interface Stack {
  name: StackName;
  provider: Provider;
  tokenUrl: string;
  mcpUrl: string;
  servers: Server[];
}



async function upsertClient(provider: Provider, id: string, metadata: Record<string, unknown>): Promise<void> {
  await (provider.Client as unknown as { adapter: { upsert(id: string, payload: object): Promise<void> } }).adapter.upsert(id, { client_id: id, ...metadata });
}

async function refreshBodies(provider: Provider, accountId: string, resource: string, count: number): Promise<string[]> {
  return inBatches(count, 16, async () => {
    const fields = { clientId: CLIENT_ID, accountId, resource, scope: SCOPE };
    const token = await mintRefreshToken(provider, { ...fields, grantId: await mintGrant(provider, fields) });
    return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: CLIENT_ID }).toString();
  });
}

/** Access tokens as each stack issues them (opaque or JWT), from refresh requests over HTTP. */
async function accessTokens(stack: Stack, accountId: string, resource: string, count: number): Promise<string[]> {
  const bodies = await refreshBodies(stack.provider, accountId, resource, count);
  return inBatches(count, 8, async (index) => {
    const response = await fetch(stack.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: bodies[index] });
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`${stack.name}: no access token (${response.status} ${JSON.stringify(body)})`);
    return body.access_token;
  });
}

/** The stateless baseline's verifier: the JWT's signature, issuer, audience and expiry, nothing stored. */
function localJwtVerifier(jwks: JSONWebKeySet, issuer: string, resource: string): AccessTokenVerifier {
  const keys = createLocalJWKSet(jwks);
  return {
    async verifyAccessToken(token) {
      const { payload } = await jwtVerify(token, keys, { issuer, audience: resource, typ: 'at+jwt' }).catch(() => {
        throw new InvalidTokenError('invalid JWT access token');
      });
      return {
        token,
        clientId: String(payload.client_id),
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
        expiresAt: payload.exp,
        resource: new URL(resource),
        extra: { accountId: payload.sub, grantId: undefined },
      };
    },
  };
}

export interface SideBySideOptions {
  /** refresh grants per variant per round (each refresh token is spent once). */
  refreshes: number;
  /** tools/call requests per variant per round. */
  toolCalls: number;
  rounds: number;
  connections: number;
  /** Only these stacks / scenarios (default: all). */
  stacks?: StackName[];
  scenarios?: ScenarioName[];
  /** Wraps each timed load (bench/profile.ts records a CPU profile of exactly that span). */
  around?: (label: string, run: () => Promise<LoadResult>) => Promise<LoadResult>;
}

export type ScenarioName = 'refresh_token grants/s' | 'MCP tools/call/s';

export interface SideBySideResult {
  rows: Row[];
  raw: Record<string, LoadResult[]>;
  best: Record<string, LoadResult>;
  /** PostgreSQL statements per request of the portcullis stack under this load (every round's). */
  statementsPerRequest: Record<string, number[]>;
  /** CPU per request of each scenario and stack (`scenario|stack`), every round's. */
  cpu: Record<string, CpuCost[]>;
}

export async function sideBySideBench(options: SideBySideOptions): Promise<SideBySideResult> {
  const database = await createTestDatabase('postgres', { poolMax: 10 });
  const stacks: Stack[] = [];
  let realResources: { stop(): Promise<void> } | undefined;
  try {
    // Production's request limits run (one counter upsert per /token request) but never refuse: all
    // load comes from 127.0.0.1.
    const config = loadConfig({ ...BENCH_ENV, RATE_LIMIT_TOKEN: '1000000000', RATE_LIMIT_REVOKE: '1000000000' });
    const logger = createLogger('silent');
    const db = database.db;
    const resource = config.resource;
    const account = await createAccount(db, `bench-${Date.now()}@example.test`, 'bench password bench');

    const real = await createAuthorizationServer(config, db, logger);
    realResources = real.resources;
    const realAs = await listen(real.app);
    const realMcp = await listen(createConfiguredMcpApp({ config, provider: real.provider, db, logger }));
    stacks.push({ name: 'portcullis', provider: real.provider, tokenUrl: `${realAs.url}/token`, mcpUrl: `${realMcp.url}${new URL(resource).pathname}`, servers: [realAs.server, realMcp.server] });

    const keys = await loadOrCreateServerKeys(db, real.keyring);
    const mcpOptions = { resource, issuer: config.issuer, db, logger, notesPerAccount: config.mcp.notesPerAccount };
    for (const jwt of [false, true]) {
      const provider = memoryProvider(config, db, { keys, resources: real.resources, introspector: RESOURCE_SERVER_ID, jwt });
      const as = await listen(createHttpApp({ provider, db, logger, trustProxy: 0 }));
      await upsertClient(provider, RESOURCE_SERVER_ID, {
        client_secret: RESOURCE_SERVER_SECRET,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      });
      const verifier = jwt
        ? localJwtVerifier((await (await fetch(`${as.url}/jwks`)).json()) as JSONWebKeySet, config.issuer, resource)
        : introspectionTokenVerifier({ issuer: config.issuer, introspectionEndpoint: `${as.url}/introspect`, clientId: RESOURCE_SERVER_ID, clientSecret: RESOURCE_SERVER_SECRET, resource });
      const mcp = await listen(createMcpApp({ ...mcpOptions, verifier }));
      stacks.push({
        name: jwt ? 'memory + JWT' : 'memory + introspection',
        provider,
        tokenUrl: `${as.url}/token`,
        mcpUrl: `${mcp.url}${new URL(resource).pathname}`,
        servers: [as.server, mcp.server],
      });
    }
    for (const stack of stacks) {
      await upsertClient(stack.provider, CLIENT_ID, {
        redirect_uris: ['http://127.0.0.1:9/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
    }

    const measured = stacks.filter((stack) => !options.stacks || options.stacks.includes(stack.name));
    const raw: Record<string, LoadResult[]> = {};
    // Only one stack is under load at a time, so what the pool sends meanwhile is that stack's.
    const statementsPerRequest: Record<string, number[]> = {};
    const cpu: Record<string, CpuCost[]> = {};
    let statements = 0;
    db.on('query', () => void (statements += 1));
    const tokensOf = new Map<StackName, string[]>();
    for (const stack of measured) tokensOf.set(stack.name, await accessTokens(stack, account.id, resource, 64));
    const allScenarios: { name: ScenarioName; job: (stack: Stack) => Promise<LoadJobWithoutConnections> }[] = [
      {
        name: 'refresh_token grants/s',
        job: async (stack: Stack) => ({ url: stack.tokenUrl, bodies: await refreshBodies(stack.provider, account.id, resource, options.refreshes) }),
      },
      {
        name: 'MCP tools/call/s',
        job: async (stack: Stack) => ({
          url: stack.mcpUrl,
          bodies: Array.from({ length: options.toolCalls }, () => CALL),
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          authorizations: tokensOf.get(stack.name)!.map((token) => `Bearer ${token}`),
        }),
      },
    ];
    const scenarios = allScenarios.filter((scenario) => !options.scenarios || options.scenarios.includes(scenario.name));
    const around = options.around ?? ((_label, run) => run());
    for (let round = 0; round < options.rounds; round += 1) {
      for (const scenario of scenarios) {
        const order = (round + scenarios.indexOf(scenario)) % 2 === 0 ? measured : [...measured].reverse();
        for (const stack of order) {
          const job = await scenario.job(stack);
          statements = 0;
          const { cpu: cost, ...result } = await measureCpu(() => around(`${scenario.name} on ${stack.name}`, () => runLoad({ ...job, connections: options.connections })));
          (raw[`${scenario.name}|${stack.name}`] ??= []).push(result);
          (cpu[`${scenario.name}|${stack.name}`] ??= []).push(cost);
          if (stack.name === 'portcullis') (statementsPerRequest[scenario.name] ??= []).push(Number((statements / Math.max(1, result.requests)).toFixed(2)));
          process.stderr.write(`  ${scenario.name} on ${stack.name}, round ${round + 1}: ${result.throughput}/s, p99 ${result.p99Ms} ms, non-2xx ${result.non2xx}, CPU per request ${cost.serverMs} ms here + ${cost.postgresMs} ms PostgreSQL (${cost.backendsMs} in backends)\n`);
        }
      }
    }

    const best: Record<string, LoadResult> = {};
    for (const [key, results] of Object.entries(raw)) best[key] = [...results].sort((a, b) => b.throughput - a.throughput)[0]!;
    const rows: Row[] = scenarios.map((scenario) => {
      const row: Row = { measure: scenario.name };
      for (const stack of measured) {
        const result = best[`${scenario.name}|${stack.name}`]!;
        row[stack.name] = result.non2xx + result.errors > 0 ? `${result.throughput} (${result.non2xx + result.errors} failed)` : result.throughput;
      }
      return row;
    });
    return { rows, raw, best, statementsPerRequest, cpu };
  } finally {
    for (const stack of stacks) {
      for (const server of stack.servers) {
        server.closeAllConnections();
        server.close();
      }
    }
    // The registry listens for changes: stopped, so the process can exit.
    await realResources?.stop();
    await database.close();
  }
}
