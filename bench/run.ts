// `npm run bench`: every scenario on this machine, each against its baseline in the same run, printed
// as tables and written to bench/results.json and docs/performance.svg (the README's chart).
// Needs PostgreSQL: DATABASE_URL, or the local server at postgres://postgres@127.0.0.1:5432/postgres;
// every scenario makes and drops its own schema.
// Knobs (environment, bench only): BENCH_QUICK=1 (fewer requests and rounds, 100k grants at most: a
// few minutes), BENCH_ROUNDS (2; quick 1), BENCH_REFRESHES (3000; quick 1000), BENCH_TOOL_CALLS
// (5000; quick 2000), BENCH_TOKEN_REQUESTS (1500), BENCH_REVOKES (300), BENCH_REVOKE_GRANTS
// (1000,10000,100000,333334 = 1,000,002 tokens; quick 1000,10000,100000), BENCH_CHART (path of the
// SVG), BENCH_ONLY (comma list of side-by-side,token,validation,revoke-scale,table-size; default all
// but table-size).
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { barPanel, linePanel, numberOf, renderChart } from './chart.ts';
import { revocationAtScale } from './revocation_scale.ts';
import { sideBySideBench, type StackName } from './side_by_side.ts';
import { printTable, type Row } from './stats.ts';
import { tableSizeBench } from './table_size.ts';
import { tokenEndpointBench } from './token_endpoint.ts';
import { validationModesBench } from './validation_modes.ts';

process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const quick = process.env.BENCH_QUICK === '1';
const int = (name: string, fallback: number) => Number.parseInt(process.env[name] ?? '', 10) || fallback;
const rounds = int('BENCH_ROUNDS', quick ? 1 : 2);
const only = new Set((process.env.BENCH_ONLY ?? 'side-by-side,token,validation,revoke-scale').split(','));
const sizes = (process.env.BENCH_REVOKE_GRANTS ?? (quick ? '1000,10000,100000' : '1000,10000,100000,333334'))
  .split(',')
  .map((value) => Number.parseInt(value, 10))
  .filter((value) => value > 0);
const chartPath = process.env.BENCH_CHART ?? new URL('../docs/performance.svg', import.meta.url).pathname;

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
};
const results: Record<string, unknown> = { quick };
const goals: Row[] = [];
const panels: Parameters<typeof renderChart>[1] = [];
const ratio = (a: number, b: number) => Number((a / Math.max(1, b)).toFixed(2));

if (only.has('side-by-side')) {
  const side = await sideBySideBench({ refreshes: int('BENCH_REFRESHES', quick ? 1000 : 3000), toolCalls: int('BENCH_TOOL_CALLS', quick ? 2000 : 5000), rounds, connections: 16 });
  results.sideBySide = side;
  printTable(`refresh grants/s and MCP tools/call/s, three stacks interleaved (16 connections, best of ${rounds} rounds)`, side.rows);
  printTable(
    'PostgreSQL statements per request of the portcullis stack under that load (each round)',
    Object.entries(side.statementsPerRequest).map(([measure, perRound]) => ({ measure, 'statements per request': perRound.join(', ') })),
  );
  // CPU per request holds across runs where throughput swings with the machine (bench/cpu_cost.ts).
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  printTable(
    'CPU milliseconds per request, median of the rounds: the servers (this process) + PostgreSQL',
    side.rows.map((scenarioRow) => {
      const measure = String(scenarioRow.measure);
      const row: Row = { measure };
      for (const [key, costs] of Object.entries(side.cpu)) {
        const [scenario, stack] = key.split('|');
        if (scenario !== measure) continue;
        row[stack!] = `${median(costs.map((cost) => cost.serverMs)).toFixed(2)} + ${median(costs.map((cost) => cost.postgresMs)).toFixed(2)}`;
      }
      return row;
    }),
  );
  const rate = (scenario: string, stack: StackName) => side.best[`${scenario}|${stack}`]!;
  const failed = (...all: ReturnType<typeof rate>[]) => all.some((result) => result.non2xx + result.errors > 0);
  const goal = (name: string, scenario: string, baseline: StackName, target: number) => {
    const ours = rate(scenario, 'portcullis');
    const theirs = rate(scenario, baseline);
    const value = ratio(ours.throughput, theirs.throughput);
    goals.push({
      goal: `${name} >= ${target}x ${baseline}`,
      measured: `${value}x (${ours.throughput} vs ${theirs.throughput}/s)`,
      met: failed(ours, theirs) ? 'invalid: failures' : value >= target ? 'yes' : 'no',
    });
  };
  goal('refresh grants/s', 'refresh_token grants/s', 'memory + introspection', 0.5);
  goal('MCP tools/call/s', 'MCP tools/call/s', 'memory + introspection', 1.5);
  goal('MCP tools/call/s', 'MCP tools/call/s', 'memory + JWT', 0.7);
  const stackColors: Record<StackName, number> = { portcullis: 0, 'memory + introspection': 1, 'memory + JWT': 2 };
  panels.push(
    barPanel(
      `refresh_token grants/s and MCP tools/call/s (best of ${rounds} interleaved rounds)`,
      Object.entries(side.best).map(([key, result]) => {
        const [scenario, stack] = key.split('|') as [string, StackName];
        return { label: `${scenario.replace('/s', '')}: ${stack}`, value: result.throughput, color: stackColors[stack] };
      }),
      '/s',
    ),
  );
}

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
  const validation = await validationModesBench({ rate: 1000, seconds: quick ? 2 : 3, rounds: quick ? 1 : 3 });
  results.validation = validation;
  printTable(`MCP token validation at 1,000 req/s and at most (baseline: a locally verified JWT; median of ${quick ? 1 : 3} rounds)`, validation);
  const database = validation.find((row) => String(row.mode).startsWith('shared adapter'))!;
  goals.push({ goal: 'validation p99 < 1 ms at 1,000 req/s (shared adapter)', measured: `${database.p99Ms} ms (p50 ${database.p50Ms} ms)`, met: numberOf(database, 'p99Ms') < 1 ? 'yes' : 'no' });
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
    const met = tokens >= 1_000_000 ? (numberOf(largest, 'revokeMs') < 10_000 && numberOf(largest, 'othersP99Ms') < 20 ? 'yes' : 'no') : 'not run (full mode runs 1M)';
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
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify({ machine, at: new Date().toISOString(), rounds, loadAverageAtEnd: loadavg().map((value) => Number(value.toFixed(2))), results }, null, 2)}\n`);
writeFileSync(chartPath, renderChart(`Portcullis bench — ${new Date().toISOString().slice(0, 16)} — ${machine.cpus} CPU, Node ${machine.node}`, panels));
process.stdout.write(
  `\nmachine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(' ')}, at end ${loadavg().map((value) => value.toFixed(2)).join(' ')}\n` +
    `wrote bench/results.json and ${chartPath}\n`,
);
