// `npm run soak`: a bounded mixed workload against `npm start` (a child process: the authorization
// server and the MCP server on one PostgreSQL schema, the janitor every few seconds, short token and
// grant lifetimes so expiry and purging happen during the run). Virtual users register, authorize,
// refresh, call MCP tools, revoke and re-authorize. Every SAMPLE_SECONDS the server's RSS and heap
// (its /metrics, else /proc) and the table row counts are recorded. At the end: the samples, the
// operation counts and the unexpected errors (must be 0); memory and the janitor-managed tables
// must be flat over the second half. Traffic goes to 127.0.0.1 only.
//
//   DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portcullis_dev): a fresh schema is made and dropped
//   SOAK_SECONDS (default 180), SOAK_USERS (default 6), SAMPLE_SECONDS (default 10)
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import knex from 'knex';
import { createAccount } from '../src/storage/account_store.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { callTool } from '../test/support/mcp_server.ts';
import { connectClient, refresh, registerClient, revoke, type RegisteredClient, type TokenSet } from '../test/support/oauth_flow.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const USERS = Number(process.env.SOAK_USERS ?? 6);
const SAMPLE_SECONDS = Number(process.env.SAMPLE_SECONDS ?? 10);
const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/portcullis_dev';
const PASSWORD = 'soak password 1';
const JANITOR_TABLES = ['oidc_tokens', 'oidc_grants', 'oidc_models', 'oidc_revoked_grants', 'rate_limits'];
const GROWING_TABLES = ['mcp_notes', 'revocation_audit', 'accounts'];

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const schema = `soak_${randomBytes(5).toString('hex')}`;
const db = knex({ client: 'pg', connection: { connectionString: BASE_URL, options: `-c search_path=${schema}` }, pool: { min: 0, max: 2 } });
await db.raw('create schema ??', [schema]);
await migrateToLatest(db);
const childUrl = new URL(BASE_URL);
childUrl.searchParams.set('options', `-c search_path=${schema}`);

const port = await freePort();
const mcpPort = await freePort();
const metricsPort = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
const server: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url))], {
  env: {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: childUrl.href,
    PORT: String(port),
    MCP_PORT: String(mcpPort),
    METRICS_PORT: String(metricsPort),
    ISSUER: baseUrl,
    MCP_RESOURCE: mcpUrl,
    LOG_LEVEL: 'info',
    JANITOR_INTERVAL: '5',
    ACCESS_TOKEN_TTL: '30',
    REFRESH_TOKEN_TTL: '45',
    GRANT_TTL: '60',
    SESSION_TTL: '60',
    RATE_LIMIT_LOGIN_PER_ACCOUNT: '0',
    RATE_LIMIT_LOGIN_PER_ADDRESS: '0',
    RATE_LIMIT_TOKEN: '0',
    RATE_LIMIT_REVOKE: '0',
    RATE_LIMIT_REGISTRATION: '0',
    RATE_LIMIT_ADMIN: '0',
    RATE_LIMIT_AUTHORIZE: '0',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverErrors = '';
// pino writes JSON lines to stdout (info: one per request, and each janitor run): error lines (level
// 50/60) are kept, janitor runs summed; stderr is kept whole (crashes).
const janitor = { runs: 0, purged: {} as Record<string, number> };
let pending = '';
server.stdout!.on('data', (chunk: Buffer) => {
  const lines = (pending + chunk.toString()).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    if (/"level":(50|60)/.test(line)) serverErrors += `${line}\n`;
    else if (line.includes('janitor purged expired rows')) {
      janitor.runs += 1;
      const counts = (JSON.parse(line) as { counts?: Record<string, number> }).counts ?? {};
      for (const [name, n] of Object.entries(counts)) janitor.purged[name] = (janitor.purged[name] ?? 0) + n;
    }
  }
});
server.stderr!.on('data', (chunk: Buffer) => (serverErrors += chunk.toString()));
let serverExited = false;
server.on('exit', () => (serverExited = true));
// Whatever happens, the server child goes and the schema is dropped.
async function cleanUp(): Promise<void> {
  if (!serverExited) server.kill('SIGTERM');
  await Promise.race([once(server, 'exit'), sleep(5000)]);
  await db.raw('set client_min_messages = warning');
  await db.raw('drop schema if exists ?? cascade', [schema]);
  await db.destroy();
}
process.on('uncaughtException', (error) => {
  console.error(error);
  void cleanUp().finally(() => process.exit(1));
});

for (let attempt = 0; ; attempt += 1) {
  try {
    if ((await fetch(`${baseUrl}/readyz`)).status === 200 && (await fetch(`${mcpUrl}`, { method: 'GET' })).status === 405) break;
  } catch {
    // not listening yet
  }
  if (attempt > 200 || serverExited) throw new Error(`server did not start: ${serverErrors}`);
  await sleep(100);
}

// --- the workload ---------------------------------------------------------------------------

const operations: Record<string, number> = {};
const unexpected: string[] = [];
const count = (name: string) => (operations[name] = (operations[name] ?? 0) + 1);
function expectStatus(name: string, status: number, allowed: number[], detail: unknown): boolean {
  count(name);
  if (allowed.includes(status)) return true;
  unexpected.push(`${name}: ${status} ${JSON.stringify(detail).slice(0, 200)}`);
  return false;
}

const deadline = performance.now() + SECONDS * 1000;

async function virtualUser(index: number): Promise<void> {
  const email = `soak${index}-${randomBytes(3).toString('hex')}@example.test`;
  await createAccount(db, email, PASSWORD);
  const account = { email, password: PASSWORD };
  let client: RegisteredClient = await registerClient(baseUrl, index % 2 ? { token_endpoint_auth_method: 'client_secret_basic' } : {});
  count('register');
  let tokens: TokenSet | undefined;
  let step = 0;
  while (performance.now() < deadline && !serverExited) {
    step += 1;
    try {
      if (!tokens) {
        if (step % 25 === 0) {
          client = await registerClient(baseUrl);
          count('register');
        }
        tokens = (await connectClient(baseUrl, account, { resource: mcpUrl, client })).tokens;
        count('authorize+exchange');
        continue;
      }
      const roll = Math.random();
      if (roll < 0.55) {
        const tool = roll < 0.3 ? 'whoami' : roll < 0.5 ? 'notes_list' : 'notes_add';
        const call = await callTool(mcpUrl, tokens.access_token, tool, tool === 'notes_add' ? { text: `note ${step}` } : {});
        // 401: the access token expired (30 s) or its grant expired; refresh next.
        if (expectStatus(`mcp ${tool}`, call.status, [200, 401], call.body) && call.status === 200 && call.body?.result?.isError) {
          unexpected.push(`mcp ${tool}: tool error ${JSON.stringify(call.body).slice(0, 200)}`);
        }
        if (call.status === 401) {
          const refreshed = await refresh(baseUrl, client, tokens.refresh_token!);
          // 400 invalid_grant: the grant (60 s) or refresh token (45 s) expired: authorize again.
          expectStatus('refresh after 401', refreshed.status, [200, 400], refreshed.body);
          tokens = refreshed.status === 200 ? (refreshed.body as unknown as TokenSet) : undefined;
        }
      } else if (roll < 0.85) {
        const refreshed = await refresh(baseUrl, client, tokens.refresh_token!);
        if (expectStatus('refresh', refreshed.status, [200, 400], refreshed.body) && refreshed.status === 400 && refreshed.body.error !== 'invalid_grant') {
          unexpected.push(`refresh: ${JSON.stringify(refreshed.body)}`);
        }
        tokens = refreshed.status === 200 ? (refreshed.body as unknown as TokenSet) : undefined;
      } else {
        const revoked = await revoke(baseUrl, client, roll < 0.93 ? tokens.refresh_token! : tokens.access_token);
        expectStatus('revoke', revoked.status, [200], revoked.body);
        // Revoked: the MCP server must refuse the token at once.
        const dead = await callTool(mcpUrl, tokens.access_token, 'whoami');
        expectStatus('mcp after revoke (401 expected)', dead.status, [401], dead.body);
        tokens = undefined;
      }
    } catch (error) {
      unexpected.push(`${index}: ${String(error).slice(0, 300)}`);
      tokens = undefined;
    }
  }
}

// --- sampling -------------------------------------------------------------------------------

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number | undefined;
  rows: Record<string, number>;
}
const samples: Sample[] = [];
const started = performance.now();

async function sample(): Promise<void> {
  let rss: number | undefined;
  let heap: number | undefined;
  try {
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const read = (name: string) => {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(metrics);
      return match ? Number(match[1]) : undefined;
    };
    rss = read('portcullis_process_resident_memory_bytes');
    heap = read('portcullis_process_nodejs_heap_size_used_bytes');
  } catch {
    // no /metrics: RSS from /proc below
  }
  if (rss === undefined) {
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }
  const rows: Record<string, number> = {};
  for (const table of [...JANITOR_TABLES, ...GROWING_TABLES]) {
    rows[table] = Number((await db.raw(`select count(*) as n from ${table}`)).rows[0].n);
  }
  // Rows past expiry plus the clock tolerance: what the janitor has yet to purge.
  rows['expired backlog'] = Number(
    (
      await db.raw(
        `select (select count(*) from oidc_models where expires_at < now() - interval '15 seconds')
              + (select count(*) from oidc_revoked_grants where expires_at < now() - interval '15 seconds')
              + (select count(*) from oidc_tokens where expires_at < now() - interval '15 seconds') as n`,
      )
    ).rows[0].n,
  );
  for (const row of (await db.raw('select model, count(*) as n from oidc_models group by model')).rows as { model: string; n: string }[]) {
    rows[`models:${row.model}`] = Number(row.n);
  }
  samples.push({
    t: Math.round((performance.now() - started) / 1000),
    rssMb: Math.round(rss / 1024 / 102.4) / 10,
    heapMb: heap === undefined ? undefined : Math.round(heap / 1024 / 102.4) / 10,
    rows,
  });
}

await sample();
const sampler = setInterval(() => void sample().catch((error: unknown) => unexpected.push(`sampler: ${String(error)}`)), SAMPLE_SECONDS * 1000);
await Promise.all(Array.from({ length: USERS }, (_, index) => virtualUser(index)));
clearInterval(sampler);
await sample();

// --- report ---------------------------------------------------------------------------------

const modelColumns = [...new Set(samples.flatMap((s) => Object.keys(s.rows).filter((key) => key.startsWith('models:'))))].sort();
const columns = [...JANITOR_TABLES, 'expired backlog', ...modelColumns, ...GROWING_TABLES];
console.log(['t(s)', 'rss MB', 'heap MB', ...columns].join('\t'));
for (const s of samples) {
  console.log([s.t, s.rssMb, s.heapMb ?? '-', ...columns.map((table) => s.rows[table] ?? 0)].join('\t'));
}
const total = Object.values(operations).reduce((sum, n) => sum + n, 0);
console.log(`\noperations (${total} in ${SECONDS} s, ${USERS} users): ${JSON.stringify(operations)}`);

// Flat over the second half (the first half is warm-up: lifetimes of 30-60 s (+15 s tolerance) fill the tables first).
// The second half is split in two and each half's median compared, later vs earlier, within 25 %
// (+5 MB / +200 rows): RSS, heap used (a GC sawtooth, hence medians, not single samples) and each
// janitor-managed table.
// Clients, registration tokens, notes and the audit trail grow by design (each registration, note
// and revocation is kept) and are reported, not judged.
const half = samples.filter((s) => s.t >= SECONDS / 2);
const earlier = half.slice(0, Math.ceil(half.length / 2));
const later = half.slice(Math.ceil(half.length / 2));
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const growth: string[] = [];
function judgeFlat(label: string, pick: (values: number[]) => number, of: (s: Sample) => number | undefined, slack: number): void {
  const before = earlier.map(of).filter((v): v is number => v !== undefined);
  const after = later.map(of).filter((v): v is number => v !== undefined);
  if (before.length === 0 || after.length === 0) return;
  const [from, to] = [pick(before), pick(after)];
  console.log(`  ${label}: ${from} -> ${to}`);
  if (to > from * 1.25 + slack) growth.push(`${label} ${from} -> ${to}`);
}
console.log('second half, earlier -> later:');
judgeFlat('rss MB (median)', median, (s) => s.rssMb, 5);
judgeFlat('heap MB (median)', median, (s) => s.heapMb, 5);
for (const table of JANITOR_TABLES) judgeFlat(`${table} rows (median)`, median, (s) => s.rows[table], 200);
console.log(`janitor: ${janitor.runs} runs, purged ${JSON.stringify(janitor.purged)}`);
console.log(`unexpected errors: ${unexpected.length}`);
for (const line of unexpected.slice(0, 20)) console.log(`  ${line}`);
console.log(growth.length ? `NOT FLAT over the second half: ${growth.join('; ')}` : 'flat over the second half: memory and janitor-managed tables');
const serverLog = serverErrors.split('\n').filter((line) => /"level":(50|60)/.test(line));
console.log(`server error log lines: ${serverLog.length}`);
for (const line of serverLog.slice(0, 5)) console.log(`  ${line.slice(0, 300)}`);

const crashed = serverExited;
if (crashed) console.log('the server process exited during the run');
await cleanUp();
process.exitCode = unexpected.length === 0 && growth.length === 0 && serverLog.length === 0 && !crashed ? 0 : 1;
