// Prometheus metrics (prom-client), one registry per process, served at /metrics by both servers.
// Every name, label and the place it is counted are listed here; labels are bounded sets (route
// templates, token kinds, outcomes), never ids or token values. The bottom of the house: the modules
// that count (revocation, keys, tokens, the janitor's caller) call these functions; this imports none of them.
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { routeOf } from './request_context.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'portcullis_process_' });

const tokensIssued = new Counter({
  name: 'portcullis_tokens_issued_total',
  help: 'Tokens and codes the provider stored, by kind and grant type (provider *.saved events)',
  labelNames: ['kind', 'grant_type'] as const,
  registers: [registry],
});

const tokensRevoked = new Counter({
  name: 'portcullis_tokens_revoked_total',
  help: 'Rows removed by the revocation service, by kind, action (revoke_token, revoke_client, ...) and actor type',
  labelNames: ['kind', 'action', 'actor'] as const,
  registers: [registry],
});

const revocations = new Counter({
  name: 'portcullis_revocations_total',
  help: 'Revocation service calls that changed something, by action and actor type',
  labelNames: ['action', 'actor'] as const,
  registers: [registry],
});

const validations = new Counter({
  name: 'portcullis_token_validations_total',
  help: 'Access-token validations at a resource server, by mode (database, introspection) and outcome (valid, invalid, unavailable)',
  labelNames: ['mode', 'outcome'] as const,
  registers: [registry],
});

const validationSeconds = new Histogram({
  name: 'portcullis_token_validation_seconds',
  help: 'Time to reach a validation verdict',
  labelNames: ['mode'] as const,
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});

const requestSeconds = new Histogram({
  name: 'portcullis_http_request_duration_seconds',
  help: 'HTTP request latency by server, method, route template and status',
  labelNames: ['server', 'method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

const janitorRuns = new Counter({
  name: 'portcullis_janitor_runs_total',
  help: 'Janitor runs, by outcome (ok, failed)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const janitorPurged = new Counter({
  name: 'portcullis_janitor_purged_rows_total',
  help: 'Expired rows the janitor deleted, by table (tokens, models, grants, tombstones)',
  labelNames: ['table'] as const,
  registers: [registry],
});

const janitorSeconds = new Histogram({
  name: 'portcullis_janitor_duration_seconds',
  help: 'Duration of one janitor run',
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
  registers: [registry],
});

const keyReloads = new Counter({
  name: 'portcullis_key_reloads_total',
  help: 'Server key sets (signing, cookie) installed after a change in server_keys, by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** A Knex instance, as far as its pool is concerned. */
interface PooledDatabase {
  client: unknown;
}

/** The database pools this process uses, by server; read when Prometheus scrapes. */
const pools = new Map<string, PooledDatabase>();

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  max: number;
}

new Gauge({
  name: 'portcullis_db_pool_connections',
  help: 'Database pool connections by server and state (used, free, pending_acquire, pending_create, max)',
  labelNames: ['server', 'state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [server, db] of pools) {
      const pool = (db.client as { pool?: TarnPool }).pool;
      if (!pool) continue;
      this.set({ server, state: 'used' }, pool.numUsed());
      this.set({ server, state: 'free' }, pool.numFree());
      this.set({ server, state: 'pending_acquire' }, pool.numPendingAcquires());
      this.set({ server, state: 'pending_create' }, pool.numPendingCreates());
      this.set({ server, state: 'max' }, pool.max);
    }
  },
});

export function observePool(server: string, db: PooledDatabase): void {
  pools.set(server, db);
}

const ISSUED_EVENTS: Record<string, string> = {
  'access_token.saved': 'AccessToken',
  'authorization_code.saved': 'AuthorizationCode',
  'refresh_token.saved': 'RefreshToken',
  'client_credentials.saved': 'ClientCredentials',
};

/** Counts what the provider issues, from its model events. */
export function observeProvider(provider: Provider): void {
  for (const [event, kind] of Object.entries(ISSUED_EVENTS)) {
    (provider as unknown as NodeJS.EventEmitter).on(event, (token: { gty?: string }) => {
      tokensIssued.inc({ kind, grant_type: token.gty ?? (kind === 'AuthorizationCode' ? 'authorization_code' : 'none') });
    });
  }
}

/** `counts`: rows removed, by model name (storage/revocation_store.ts's RevocationCounts). */
export function recordRevocation(action: string, actorType: string, counts: Record<string, number>): void {
  let changed = false;
  for (const [kind, count] of Object.entries(counts)) {
    if (!count) continue;
    changed = true;
    tokensRevoked.inc({ kind, action, actor: actorType }, count);
  }
  if (changed) revocations.inc({ action, actor: actorType });
}

export type ValidationOutcome = 'valid' | 'invalid' | 'unavailable';

export function recordValidation(mode: string, outcome: ValidationOutcome, seconds: number): void {
  validations.inc({ mode, outcome });
  validationSeconds.observe({ mode }, seconds);
}

/** `counts`: rows purged, by table (storage/janitor.ts's PurgeCounts). */
export function recordJanitorRun(outcome: 'ok' | 'failed', seconds: number, counts?: Record<string, number>): void {
  janitorRuns.inc({ outcome });
  janitorSeconds.observe(seconds);
  for (const [table, count] of Object.entries(counts ?? {})) if (count) janitorPurged.inc({ table }, count);
}

export function recordKeyReload(outcome: 'ok' | 'failed'): void {
  keyReloads.inc({ outcome });
}

/** Koa middleware: request latency histogram. Mounted first, so it sees the final status. */
export function requestMetrics(server: string) {
  return async function measureRequest(ctx: Context, next: Next): Promise<void> {
    const end = requestSeconds.startTimer();
    try {
      await next();
    } finally {
      end({ server, method: ctx.method, route: routeOf(ctx), status: String(ctx.status) });
    }
  };
}

/** GET /metrics in the Prometheus text format. */
export async function metricsEndpoint(ctx: Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = registry.contentType;
  ctx.body = await registry.metrics();
}
