// `npm run bench`: every scenario on this machine, printed as tables and written to bench/results.json.
// Needs PostgreSQL: DATABASE_URL, or the local server at postgres://postgres@127.0.0.1:5432/postgres.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { revocationAtScale } from './revocation_scale.ts';
import { printTable, type Row } from './stats.ts';

process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const sizes = (process.env.BENCH_REVOKE_GRANTS ?? '1000,10000,100000')
  .split(',')
  .map((value) => Number.parseInt(value, 10))
  .filter((value) => value > 0);

const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
const results: Record<string, Row[]> = {};

const scale: Row[] = [];
for (const grants of sizes) {
  scale.push(await revocationAtScale(grants));
  process.stderr.write(`revoke-client at ${grants} grants done\n`);
}
results.revokeClientScale = scale;
printTable('revoke client (N grants x 3 tokens) while another client’s tokens are validated at 200 req/s (baseline: the same load just before)', scale);

writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify({ machine, at: new Date().toISOString(), results }, null, 2)}\n`);
process.stdout.write(`\nmachine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}\n`);
