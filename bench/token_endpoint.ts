// /token (code exchange, refresh) and single /revoke over HTTP: the product's provider on the
// PostgreSQL adapter vs. the same provider configuration on oidc-provider's in-memory adapter, both
// mounted in the same HTTP app, side by side in one process and one run. Codes and refresh tokens are
// minted through each provider's own models beforehand (not timed); autocannon (in a worker thread)
// spends each one exactly once. Rounds alternate the order; the median round is reported.
import type { Server } from 'node:http';
import { inBatches, listen } from './serving.ts';
import { memoryProvider } from './memory_provider.ts';
import Provider from 'oidc-provider';
import { createAccount } from '../src/storage/account_store.ts';
import { createAuthorizationServer } from '../src/authorization_server.ts';
import { loadConfig } from '../src/config.ts';
import { createHttpApp } from '../src/http/app.ts';
import { loadOrCreateServerKeys } from '../src/storage/key_store.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { pkcePair, REDIRECT_URI } from '../test/support/oauth_flow.ts';
import { runLoad, type LoadResult } from './load.ts';
import { mintAccessToken, mintAuthorizationCode, mintGrant, mintRefreshToken } from '../test/support/tokens.ts';
import { BENCH_ENV, type Row } from './stats.ts';

const CLIENT_ID = 'bench-public-client';
const SCOPE = 'mcp:read';

interface Variant {
  name: 'postgres' | 'memory';
  provider: Provider;
  url: string;
  server: Server;
}

/** A fresh grant for the bench client, and the fields every artifact minted under it shares. */
async function newGrant(provider: Provider, accountId: string, resource: string) {
  const fields = { clientId: CLIENT_ID, accountId, resource, scope: SCOPE };
  return { ...fields, grantId: await mintGrant(provider, fields) };
}

async function codeBodies(provider: Provider, accountId: string, resource: string, count: number): Promise<string[]> {
  return inBatches(count, 16, async () => {
    const { verifier, challenge } = pkcePair();
    const fields = { ...(await newGrant(provider, accountId, resource)), redirectUri: REDIRECT_URI, codeChallenge: challenge };
    const code = await mintAuthorizationCode(provider, fields);
    return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, client_id: CLIENT_ID, resource }).toString();
  });
}

async function refreshBodies(provider: Provider, accountId: string, resource: string, count: number): Promise<string[]> {
  return inBatches(count, 16, async () => {
    const token = await mintRefreshToken(provider, await newGrant(provider, accountId, resource));
    return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: CLIENT_ID }).toString();
  });
}

async function revokeBodies(provider: Provider, accountId: string, resource: string, count: number): Promise<string[]> {
  return inBatches(count, 16, async () => {
    const token = await mintAccessToken(provider, { ...(await newGrant(provider, accountId, resource)), aud: resource });
    return new URLSearchParams({ token, client_id: CLIENT_ID }).toString();
  });
}

function median(results: LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.throughput - b.throughput);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export interface TokenBenchOptions {
  requests: number;
  revokes: number;
  rounds: number;
  connections: number;
}

export async function tokenEndpointBench(options: TokenBenchOptions): Promise<{ rows: Row[]; raw: Record<string, LoadResult[]> }> {
  const database = await createTestDatabase('postgres', { poolMax: 10 });
  const variants: Variant[] = [];
  // The registry listens for changes: stopped, so the process can exit.
  let stopResources: (() => Promise<void>) | undefined;
  try {
    const config = loadConfig(BENCH_ENV);
    const logger = createLogger('silent');
    const db = database.db;
    const resource = config.resource;

    const real = await createAuthorizationServer(config, db, logger);
    stopResources = () => real.resources.stop();
    variants.push({ name: 'postgres', provider: real.provider, ...(await listen(real.app)) });

    // The same configuration and HTTP app, only the adapter differs.
    const memory = memoryProvider(config, db, { keys: await loadOrCreateServerKeys(db, real.keyring), resources: real.resources });
    const memoryApp = createHttpApp({ provider: memory, db, logger, trustProxy: 0 });
    variants.push({ name: 'memory', provider: memory, ...(await listen(memoryApp)) });

    const account = await createAccount(db, `bench-${Date.now()}@example.test`, 'bench password bench');
    for (const variant of variants) {
      await (variant.provider.Client as unknown as { adapter: { upsert(id: string, payload: object): Promise<void> } }).adapter.upsert(CLIENT_ID, {
        client_id: CLIENT_ID,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
    }

    const raw: Record<string, LoadResult[]> = {};
    const scenarios = [
      { name: 'token: code exchange', path: '/token', count: options.requests, connections: options.connections, bodies: codeBodies },
      { name: 'token: refresh (rotating)', path: '/token', count: options.requests, connections: options.connections, bodies: refreshBodies },
      { name: 'revoke: one access token', path: '/revoke', count: options.revokes, connections: 1, bodies: revokeBodies },
    ];
    for (let round = 0; round < options.rounds; round += 1) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const scenario of scenarios) {
        for (const variant of order) {
          const bodies = await scenario.bodies(variant.provider, account.id, resource, scenario.count);
          const result = await runLoad({ url: `${variant.url}${scenario.path}`, bodies, connections: scenario.connections });
          (raw[`${scenario.name}|${variant.name}`] ??= []).push(result);
          process.stderr.write(`  ${scenario.name} on ${variant.name}, round ${round + 1}: ${result.throughput} req/s, p99 ${result.p99Ms} ms, non-2xx ${result.non2xx}\n`);
        }
      }
    }

    const rows: Row[] = [];
    for (const scenario of scenarios) {
      const memory = median(raw[`${scenario.name}|memory`]!);
      for (const variant of variants) {
        const result = median(raw[`${scenario.name}|${variant.name}`]!);
        rows.push({
          scenario: scenario.name,
          adapter: variant.name,
          connections: scenario.connections,
          requests: result.requests,
          'req/s': result.throughput,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          failed: result.non2xx + result.errors,
          // Failed answers are fast answers: a ratio over them would flatter the adapter.
          'ratio (req/s vs memory)':
            result.non2xx + result.errors + memory.non2xx + memory.errors > 0
              ? 'invalid: failures'
              : Number((result.throughput / memory.throughput).toFixed(2)),
        });
      }
    }
    return { rows, raw };
  } finally {
    for (const variant of variants) {
      variant.server.closeAllConnections();
      variant.server.close();
    }
    await stopResources?.();
    await database.close();
  }
}
