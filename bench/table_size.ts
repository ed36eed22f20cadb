// Table size under a steady issue/expire workload: access tokens are written through the adapter at a
// fixed rate with a short lifetime, and oidc_tokens is counted every half second, once with the
// janitor running every `janitorSeconds` and once (the baseline) without it. With the janitor the
// table should level off near rate x (ttl + clock tolerance + janitor interval); without it, it grows.
import type { Adapter } from 'oidc-provider';
import { createAuthorizationServer } from '../src/authorization_server.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { CLOCK_TOLERANCE } from '../src/provider/configuration.ts';
import { purgeExpired } from '../src/storage/janitor.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { BENCH_ENV, type Row } from './stats.ts';

export interface TableSizeOptions {
  rate: number;
  ttlSeconds: number;
  janitorSeconds: number;
  durationSeconds: number;
}

export interface TableSizeResult {
  rows: Row[];
  /** Row counts over time, seconds since start, for the chart. */
  series: Record<'janitor' | 'none', { t: number; rows: number }[]>;
}

async function run(withJanitor: boolean, options: TableSizeOptions) {
  const database = await createTestDatabase('postgres', { poolMax: 10 });
  // The registry listens for changes: stopped, so the process can exit.
  let stopResources: (() => Promise<void>) | undefined;
  try {
    const config = loadConfig(BENCH_ENV);
    const { adapterFor, resources } = await createAuthorizationServer(config, database.db, createLogger('silent'));
    stopResources = () => resources.stop();
    const tokens: Adapter = adapterFor('AccessToken');
    const series: { t: number; rows: number }[] = [];
    let purged = 0;
    let janitorMs = 0;
    let running = true;
    const started = performance.now();

    const issue = (async () => {
      let i = 0;
      while (running) {
        const due = started + (i * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const id = `steady-${i}-${Math.random().toString(36).slice(2)}`;
        await tokens.upsert(id, { jti: id, kind: 'AccessToken', clientId: 'steady', accountId: 'steady', exp: Math.floor(Date.now() / 1000) + options.ttlSeconds }, options.ttlSeconds);
        i += 1;
      }
      return i;
    })();
    const janitor = withJanitor
      ? setInterval(() => {
          const begun = performance.now();
          void purgeExpired(database.db, CLOCK_TOLERANCE).then((counts) => {
            purged += counts.tokens;
            janitorMs = Math.max(janitorMs, performance.now() - begun);
          });
        }, options.janitorSeconds * 1000)
      : undefined;
    const sampler = setInterval(() => {
      void database.db('oidc_tokens').count({ count: '*' }).first().then((row) => {
        series.push({ t: Number(((performance.now() - started) / 1000).toFixed(1)), rows: Number(row?.count ?? 0) });
      });
    }, 500);

    await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
    running = false;
    clearInterval(janitor);
    clearInterval(sampler);
    const issued = await issue;
    const last = series.at(-1)?.rows ?? 0;
    const peak = Math.max(0, ...series.map((point) => point.rows));
    return { issued, purged, janitorMs, last, peak, series };
  } finally {
    await stopResources?.();
    await database.close();
  }
}

export async function tableSizeBench(options: TableSizeOptions): Promise<TableSizeResult> {
  const none = await run(false, options);
  const janitor = await run(true, options);
  const expected = Math.round(options.rate * (options.ttlSeconds + CLOCK_TOLERANCE + options.janitorSeconds));
  const row = (name: string, result: typeof none): Row => ({
    janitor: name,
    'issued/s': options.rate,
    'ttl s': options.ttlSeconds,
    'run s': options.durationSeconds,
    issued: result.issued,
    purged: result.purged,
    'rows at end': result.last,
    'peak rows': result.peak,
    'bound (rate x (ttl+tolerance+interval))': name === 'off' ? '-' : expected,
    'slowest janitor run ms': name === 'off' ? '-' : Math.round(result.janitorMs),
    'ratio (rows at end vs janitor off)': Number((result.last / Math.max(1, none.last)).toFixed(2)),
  });
  return {
    rows: [row('off', none), row(`every ${options.janitorSeconds} s`, janitor)],
    series: { none: none.series, janitor: janitor.series },
  };
}
