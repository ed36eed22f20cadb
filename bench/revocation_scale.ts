// How revocation cost grows, and whether it stalls everyone else: revoke one client holding N grants
// (3 tokens each: access, refresh, code) while other clients' access tokens are validated at a
// steady rate through the shared verifier; report the revocation time and the others' latency.
import { createHash } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { createAuthorizationServer } from '../src/authorization_server.ts';
import { loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/connect.ts';
import { createLogger } from '../src/logger.ts';
import { providerTokenVerifier } from '../src/tokens/access_token_verifier.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { mintAccessToken, mintGrant } from '../test/support/tokens.ts';
import { BENCH_ENV, percentile, type Row } from './stats.ts';

const BIG_CLIENT = 'bench-big-client';
const OTHER_CLIENT = 'bench-other-client';

/** Bulk rows shaped like the adapter's, written with generate_series (seeding is not what we time). */
async function seedClient(db: Database, clientId: string, grants: number): Promise<void> {
  const prefix = createHash('sha256').update(clientId).digest('hex').slice(0, 8);
  await db.raw(
    `insert into oidc_grants (id, client_id, account_id, payload, expires_at)
     select ?::text || '-' || i, ?::text, 'account-' || (i % 5000),
            jsonb_build_object('kind', 'Grant', 'clientId', ?::text, 'accountId', 'account-' || (i % 5000),
              'resources', jsonb_build_object('http://localhost:3001/mcp', 'mcp:read mcp:write')),
            now() + interval '1 day'
     from generate_series(1, ?::int) as i`,
    [prefix, clientId, clientId, grants],
  );
  await db.raw(
    `insert into oidc_tokens (id_hash, model, grant_id, client_id, account_id, payload, expires_at)
     select md5(?::text || m.model || i), m.model, ?::text || '-' || i, ?::text, 'account-' || (i % 5000),
            jsonb_build_object('kind', m.model, 'clientId', ?::text, 'grantId', ?::text || '-' || i, 'scope', 'mcp:read mcp:write',
              'aud', 'http://localhost:3001/mcp', 'iat', 1, 'exp', 4102444800),
            now() + interval '1 hour'
     from generate_series(1, ?::int) as i
     cross join (values ('AccessToken'), ('RefreshToken'), ('AuthorizationCode')) as m(model)`,
    [prefix, prefix, clientId, clientId, prefix, grants],
  );
  await db.raw('analyze oidc_grants; analyze oidc_tokens');
}

/** Real access tokens of another client, issued through the provider's own models. */
async function issueOtherTokens(provider: Provider, clients: Adapter, resource: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  await clients.upsert(OTHER_CLIENT, {
    client_id: OTHER_CLIENT,
    client_secret: 'bench-secret-bench-secret-bench-secret',
    redirect_uris: ['http://127.0.0.1:9/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
  for (let i = 0; i < count; i += 1) {
    const fields = { clientId: OTHER_CLIENT, accountId: `other-account-${i}`, resource, scope: 'mcp:read' };
    const grantId = await mintGrant(provider, fields);
    tokens.push(await mintAccessToken(provider, { ...fields, grantId, aud: resource }));
  }
  return tokens;
}

export interface ScaleResult extends Row {
  grants: number;
  tokens: number;
  revokeMs: number;
  validations: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  othersP50Ms: number;
  othersP99Ms: number;
  othersMaxMs: number;
  othersFailures: number;
}

export async function revocationAtScale(grants: number, validationRate = 200): Promise<ScaleResult> {
  const database = await createTestDatabase('postgres', { poolMax: 10 });
  // The registry listens for changes: stopped, so the process can exit.
  let stopResources: (() => Promise<void>) | undefined;
  try {
    const config = loadConfig(BENCH_ENV);
    const { provider, revocation, adapterFor, resources } = await createAuthorizationServer(config, database.db, createLogger('silent'));
    stopResources = () => resources.stop();
    await seedClient(database.db, BIG_CLIENT, grants);
    await adapterFor('Client').upsert(BIG_CLIENT, { client_id: BIG_CLIENT, redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' });
    const others = await issueOtherTokens(provider, adapterFor('Client'), config.resource, 50);
    const verifier = providerTokenVerifier({ provider, resource: config.resource });

    // Validate the other client's tokens at a fixed rate for as long as the revocation runs.
    const latencies: number[] = [];
    let failures = 0;
    let running = true;
    const inFlight = new Set<Promise<void>>();
    const load = (async () => {
      const interval = 1000 / validationRate;
      let next = performance.now();
      let i = 0;
      while (running) {
        next += interval;
        const started = performance.now();
        const call = verifier
          .verifyAccessToken(others[i % others.length]!)
          .then(() => void latencies.push(performance.now() - started))
          .catch(() => void (failures += 1))
          .finally(() => inFlight.delete(call));
        inFlight.add(call);
        i += 1;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await Promise.all(inFlight);
    })();

    await new Promise((resolve) => setTimeout(resolve, 500)); // warm the pool and caches
    latencies.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the same load without a revocation
    const baseline = latencies.splice(0).sort((a, b) => a - b);
    const started = performance.now();
    const outcome = await revocation.revokeClient(BIG_CLIENT, { actor: { type: 'operator', id: 'bench' }, reason: 'bench' });
    const revokeMs = performance.now() - started;
    running = false;
    await load;

    const sorted = latencies.sort((a, b) => a - b);
    return {
      grants,
      tokens: (outcome.counts.AccessToken ?? 0) + (outcome.counts.RefreshToken ?? 0) + (outcome.counts.AuthorizationCode ?? 0),
      revokeMs: Math.round(revokeMs),
      validations: sorted.length,
      baselineP50Ms: percentile(baseline, 50),
      baselineP99Ms: percentile(baseline, 99),
      othersP50Ms: percentile(sorted, 50),
      othersP99Ms: percentile(sorted, 99),
      othersMaxMs: sorted.length ? Number(sorted.at(-1)!.toFixed(2)) : 0,
      othersFailures: failures,
    };
  } finally {
    await stopResources?.();
    await database.close();
  }
}
