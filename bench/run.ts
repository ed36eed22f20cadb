// `npm run bench`: every scenario on this machine, each against its baseline in the same run, printed
// as tables and written to bench/results.json and bench/results.svg (both gitignored).
// Needs PostgreSQL: DATABASE_URL, or the local server at postgres://postgres@127.0.0.1:5432/postgres.
// Knobs (environment, bench only): BENCH_ROUNDS (3), BENCH_TOKEN_REQUESTS (1500), BENCH_REVOKES (300),
// BENCH_REVOKE_GRANTS (1000,10000,100000), BENCH_REVOKE_1M=1 (adds 333,334 grants = 1,000,002 tokens),
// BENCH_ONLY (comma list of token,validation,revoke-scale,table-size).
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { barPanel, linePanel, numberOf, renderChart } from './chart.ts';
import { revocationAtScale } from './revocation_scale.ts';
import { printTable, type Row } from './stats.ts';
import { tableSizeBench } from './table_size.ts';
import { tokenEndpointBench } from './token_endpoint.ts';
import { validationModesBench } from './validation_modes.ts';

process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const int = (name: string, fallback: number) => Number.parseInt(process.env[name] ?? '', 10) || fallback;
const rounds = int('BENCH_ROUNDS', 3);
const only = new Set((process.env.BENCH_ONLY ?? 'token,validation,revoke-scale,table-size').split(','));
const sizes = (process.env.BENCH_REVOKE_GRANTS ?? '1000,10000,100000')
  .split(',')
  .map((value) => Number.parseInt(value, 10))
  .filter((value) => value > 0);
if (process.env.BENCH_REVOKE_1M === '1') sizes.push(333_334);

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
};
const results: Record<string, unknown> = {};
const goals: Row[] = [];
const panels: Parameters<typeof renderChart>[1] = [];

if (only.has('token')) {
  const token = await tokenEndpointBench({ requests: int('BENCH_TOKEN_REQUESTS', 1500), revokes: int('BENCH_REVOKES', 300), rounds, connections: 8 });
  results.tokenEndpoint = token;
  printTable(`/token and /revoke over HTTP: PostgreSQL adapter vs the library's in-memory adapter (median of ${rounds} rounds)`, token.rows);
  for (const scenario of ['token: code exchange', 'token: refresh (rotating)']) {
    const row = token.rows.find((candidate) => candidate.scenario === scenario && candidate.adapter === 'postgres')!;
    const ratio = row['ratio (req/s vs memory)'];
    goals.push({
      goal: `${scenario}: postgres >= 0.8x memory`,
      measured: typeof ratio === 'number' ? `${ratio}x (${row['req/s']} req/s)` : `${ratio} (${row.failed} failed)`,
      met: typeof ratio === 'number' && ratio >= 0.8 ? 'yes' : 'no',
    });
  }
  panels.push(
    barPanel(
      '/token and /revoke throughput (req/s)',
      token.rows.map((row) => ({ label: `${row.scenario} (${row.adapter})`, value: numberOf(row, 'req/s'), color: row.adapter === 'postgres' ? 0 : 1 })),
      'req/s',
    ),
  );
}

if (only.has('validation')) {
  const validation = await validationModesBench({ rate: 1000, seconds: 3, rounds });
  results.validation = validation;
  printTable(`MCP token validation at 1,000 req/s and at most (baseline: a locally verified JWT; median of ${rounds} rounds)`, validation);
  const database = validation.find((row) => String(row.mode).startsWith('shared adapter'))!;
  goals.push({ goal: 'validation p99 < 2 ms at 1,000 req/s (shared adapter)', measured: `${database.p99Ms} ms (p50 ${database.p50Ms} ms)`, met: numberOf(database, 'p99Ms') < 2 ? 'yes' : 'no' });
  panels.push(barPanel('validation p99 at 1,000 req/s (ms)', validation.map((row) => ({ label: String(row.mode), value: numberOf(row, 'p99Ms') })), 'ms'));
}

if (only.has('revoke-scale')) {
  const scale: Row[] = [];
  for (const grants of sizes) {
    const row = await revocationAtScale(grants);
    scale.push({ ...row, 'ratio (others p99 vs before)': Number((row.othersP99Ms / Math.max(0.01, row.baselineP99Ms)).toFixed(2)) });
    process.stderr.write(`  revoke-client at ${grants} grants: ${row.revokeMs} ms, others p99 ${row.othersP99Ms} ms\n`);
  }
  results.revokeClientScale = scale;
  printTable('revoke-client (N grants x 3 tokens) while another client’s tokens are validated at 200 req/s (baseline: the same load just before)', scale);
  const largest = scale.at(-1);
  if (largest) {
    const tokens = numberOf(largest, 'tokens');
    const met = tokens >= 1_000_000 ? (numberOf(largest, 'revokeMs') < 10_000 && numberOf(largest, 'othersP99Ms') < 20 ? 'yes' : 'no') : 'not run (BENCH_REVOKE_1M=1)';
    goals.push({
      goal: 'revoke-client of 1M tokens < 10 s, others p99 < 20 ms',
      measured: `${tokens} tokens in ${largest.revokeMs} ms, others p99 ${largest.othersP99Ms} ms`,
      met,
    });
  }
  panels.push(
    linePanel(
      'revoke-client: time (ms) by tokens revoked, and others’ validation p99 (ms x 100)',
      [
        { name: 'revoke ms', points: scale.map((row) => ({ x: numberOf(row, 'tokens'), y: numberOf(row, 'revokeMs') })) },
        { name: 'others p99 ms x 100', points: scale.map((row) => ({ x: numberOf(row, 'tokens'), y: numberOf(row, 'othersP99Ms') * 100 })) },
      ],
      { x: 'tokens revoked (log scale)', y: 'ms', logX: true },
    ),
  );
}

if (only.has('table-size')) {
  const size = await tableSizeBench({ rate: 200, ttlSeconds: 2, janitorSeconds: 3, durationSeconds: 30 });
  results.tableSize = size;
  printTable('oidc_tokens rows under a steady issue/expire workload (200 tokens/s, 2 s lifetime), janitor off vs on', size.rows);
  panels.push(
    linePanel(
      'oidc_tokens rows over time: janitor off vs every 3 s',
      [
        { name: 'janitor off', points: size.series.none.map((point) => ({ x: point.t, y: point.rows })) },
        { name: 'janitor on', points: size.series.janitor.map((point) => ({ x: point.t, y: point.rows })) },
      ],
      { x: 'seconds', y: 'rows' },
    ),
  );
}

if (goals.length > 0) printTable('goals', goals);
results.goals = goals;
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify({ machine, at: new Date().toISOString(), rounds, results }, null, 2)}\n`);
writeFileSync(new URL('./results.svg', import.meta.url), renderChart(`Portcullis bench — ${new Date().toISOString().slice(0, 16)} — ${machine.cpus} CPU, Node ${machine.node}`, panels));
process.stdout.write(
  `\nmachine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(' ')}\n` +
    'wrote bench/results.json and bench/results.svg\n',
);
